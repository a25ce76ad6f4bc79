"""Production refuses to sign tokens with the development key or a short one."""

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from app.core.config import Settings

SAFE_URL = SecretStr("postgresql+asyncpg://app:a-real-secret@db.internal:5432/app?ssl=require")


@pytest.mark.parametrize("key", [None, "short-key", "x" * 31])
def test_production_refuses_a_placeholder_or_short_signing_key(key: str | None) -> None:
    values: dict[str, Any] = {"auth_secret_key": SecretStr(key)} if key is not None else {}
    with pytest.raises(ValidationError, match="AUTH_SECRET_KEY must be a random secret"):
        Settings(_env_file=None, environment="production", database_url=SAFE_URL, **values)
    assert Settings(_env_file=None, database_url=SAFE_URL, **values).environment == "development"


def test_production_accepts_a_long_random_key() -> None:
    key = SecretStr("k" * 48)
    settings = Settings(
        _env_file=None, environment="production", database_url=SAFE_URL, auth_secret_key=key
    )
    assert settings.auth_secret_key.get_secret_value() == "k" * 48
