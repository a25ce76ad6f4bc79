"""API keys of the caller: /api/v1/auth/api-keys (docs/auth.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from app.api.auth import for_caller, get_credentials
from app.api.deps import require_json_body
from app.api.problems import problem_responses
from app.schemas.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from app.schemas.base import Id
from app.services.api_key import ApiKeyService

router = APIRouter(prefix="/auth/api-keys", tags=["auth"])

KeyId = Annotated[Id, Path()]
ApiKeys = Annotated[
    ApiKeyService,
    for_caller(
        lambda session, request, principal: ApiKeyService(
            session, get_credentials(request), principal
        ),
        name="ApiKeys",
    ),
]


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
    dependencies=[Depends(require_json_body)],
)
async def create_api_key(payload: ApiKeyCreate, keys: ApiKeys, response: Response) -> ApiKeyCreated:
    """A new API key acting for the caller (signed in with a password, not with a key, and
    giving the password again). The answer holds the key itself, the only time it is shown."""
    return await keys.create(payload)


@router.get("", response_model=ApiKeyList, responses=problem_responses(401))
async def list_api_keys(keys: ApiKeys) -> ApiKeyList:
    """The caller's API keys that are not revoked (expired ones included), oldest first."""
    return await keys.list()


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
async def revoke_api_key(key_id: KeyId, keys: ApiKeys) -> None:
    """Revoke one of the caller's API keys: it stops working at once."""
    await keys.revoke(key_id)
