"""Users: /api/v1/users/me for everyone, the rest for admins (the `admin` scope).

`{user_id:int}`: only digits address a user, so that /users/me never reaches those routes.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.api.auth import SignedInAuth, user_service
from app.api.deps import require_json_body
from app.api.preconditions import ExpectedVersionDep, etag
from app.api.problems import problem_responses
from app.schemas.auth import PasswordChange, TokenPair
from app.schemas.base import Id
from app.schemas.pagination import Listing
from app.schemas.user import UserCreate, UserListParams, UserPage, UserRead, UserUpdate
from app.security.principal import ADMIN_SCOPE
from app.services.user import UserService

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[Id, Path()]
Me = Annotated[UserService, user_service()]
Admin = Annotated[UserService, user_service(ADMIN_SCOPE)]
ADMIN_ONLY = (401, 403)


@router.get("/me", response_model=UserRead, responses=problem_responses(401))
async def read_me(service: Me) -> UserRead:
    """The caller's own account."""
    return await service.me()


@router.post(
    "/me/password",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 413, 415, 422, 429),
    dependencies=[Depends(require_json_body)],
)
async def change_password(
    payload: PasswordChange, auth: SignedInAuth, response: Response
) -> TokenPair:
    """Change the caller's password: every other session ends; this one gets new tokens. It
    works while sign-in is locked for the account (its wrong passwords are counted apart)."""
    response.headers["Cache-Control"] = "no-store"
    return await auth.change_password(payload.current_password, payload.new_password)


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*ADMIN_ONLY, 400, 409, 413, 415, 422),
    dependencies=[Depends(require_json_body)],
)
async def create_user(
    payload: UserCreate, service: Admin, request: Request, response: Response
) -> UserRead:
    """Create a user."""
    created = await service.create(payload)
    response.headers["Location"] = f"{request.url.path}/{created.id}"
    response.headers["ETag"] = etag(created.version)
    return created


@router.get("", response_model=UserPage, responses=problem_responses(*ADMIN_ONLY, 400, 422))
async def list_users(
    params: Annotated[UserListParams, Query()], service: Admin
) -> Listing[UserRead]:
    """List users, one page at a time (see `cursor` and `offset`)."""
    return await service.list(params)


@router.get(
    "/{user_id:int}", response_model=UserRead, responses=problem_responses(*ADMIN_ONLY, 404, 422)
)
async def get_user(user_id: UserId, service: Admin, response: Response) -> UserRead:
    """Read one user."""
    found = await service.read(user_id)
    response.headers["ETag"] = etag(found.version)
    return found


@router.patch(
    "/{user_id:int}",
    response_model=UserRead,
    responses=problem_responses(*ADMIN_ONLY, 400, 404, 409, 412, 413, 415, 422, 428),
    dependencies=[Depends(require_json_body)],
)
async def update_user(
    user_id: UserId,
    payload: UserUpdate,
    expected_version: ExpectedVersionDep,
    service: Admin,
    response: Response,
) -> UserRead:
    """Change a user's scopes or active flag; either ends the user's sessions."""
    updated = await service.update(user_id, payload, expected_version)
    response.headers["ETag"] = etag(updated.version)
    return updated


@router.delete(
    "/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*ADMIN_ONLY, 404, 409, 412, 422, 428),
)
async def delete_user(
    user_id: UserId, expected_version: ExpectedVersionDep, service: Admin
) -> None:
    """Delete a user (409 while they own records: deactivate them instead)."""
    await service.delete(user_id, expected_version)
