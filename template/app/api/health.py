"""Probes for orchestrators: liveness never touches the database, readiness always does."""

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from app.api.deps import SessionDep
from app.api.problems import problem_responses

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/live", response_model=Health)
async def live() -> Health:
    """The process is up and serving requests."""
    return Health()


@router.get("/ready", response_model=Health, responses=problem_responses(503))
async def ready(session: SessionDep) -> Health:
    """The database answers a query; 503 otherwise."""
    await session.execute(text("SELECT 1"))
    return Health()
