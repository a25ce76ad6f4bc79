"""Two refreshes of one token at the same moment, on a database with real commits: exactly one
wins (the conditional UPDATE takes the row lock; the other finds the token used)."""

import asyncio

from app.core.config import Settings
from app.main import create_app
from tests.auth.users import PASSWORD, add_user
from tests.clients import running


async def test_concurrent_refreshes_of_one_token_give_one_success(live_settings: Settings) -> None:
    app = create_app(live_settings)
    async with running(app, signed_in=False) as client:
        await add_user(app, "racer@example.com")
        form = {"username": "racer@example.com", "password": PASSWORD}
        refresh_token = (await client.post("/api/v1/auth/token", data=form)).json()["refresh_token"]

        body = {"refresh_token": refresh_token}
        responses = await asyncio.gather(
            *(client.post("/api/v1/auth/refresh", json=body) for _ in range(2))
        )
    assert sorted(response.status_code for response in responses) == [200, 401]
