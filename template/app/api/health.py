"""Probes for orchestrators: liveness never touches the database, readiness always does."""

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.access import public
from app.api.deps import service
from app.api.problems import problem_responses
from app.services.health import HealthService

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/live", response_model=Health)
@public
async def live() -> Health:
    """The process is up and serving requests."""
    return Health()


@router.get("/ready", response_model=Health, responses=problem_responses(503))
@public
async def ready(health: Annotated[HealthService, service(HealthService)]) -> Health:
    """The database answers a query; 503 otherwise."""
    await health.check_database()
    return Health()
