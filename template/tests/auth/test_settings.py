"""The signing key: production needs a long one; a key written in the template is refused
everywhere; without one, development and test sign with a random key of the process."""

from typing import Any, Literal

import pytest
from pydantic import SecretStr, ValidationError

from app.core.config import PUBLISHED_SECRET_KEYS, Settings

SAFE_URL = SecretStr("postgresql+asyncpg://app:a-real-secret@db.internal:5432/app?ssl=require")
HOSTS = ["api.example.com"]


def production(**values: Any) -> Settings:
    return Settings(
        _env_file=None,
        environment="production",
        database_url=SAFE_URL,
        allowed_hosts=HOSTS,
        **values,
    )


@pytest.mark.parametrize("key", [None, "", "short-key", "x" * 31])
def test_production_refuses_a_missing_or_short_signing_key(key: str | None) -> None:
    values = {"auth_secret_key": SecretStr(key)} if key is not None else {}
    with pytest.raises(ValidationError, match="AUTH_SECRET_KEY must be a random secret"):
        production(**values)


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize("key", sorted(PUBLISHED_SECRET_KEYS))
def test_a_key_written_in_the_template_is_refused_everywhere(
    environment: Literal["development", "test", "production"], key: str
) -> None:
    with pytest.raises(ValidationError, match="written in the project template"):
        Settings(
            _env_file=None,
            environment=environment,
            database_url=SAFE_URL,
            allowed_hosts=HOSTS,
            auth_secret_key=SecretStr(key),
        )


def test_without_a_key_development_signs_with_a_random_one() -> None:
    first, second = (Settings(_env_file=None, database_url=SAFE_URL) for _ in range(2))
    assert first.auth_secret_key_generated
    key = first.auth_secret_key.get_secret_value()
    assert len(key) >= 48
    assert key != second.auth_secret_key.get_secret_value()
    assert key not in PUBLISHED_SECRET_KEYS


def test_production_accepts_a_long_random_key() -> None:
    settings = production(auth_secret_key=SecretStr("k" * 48))
    assert settings.auth_secret_key.get_secret_value() == "k" * 48
    assert not settings.auth_secret_key_generated


@pytest.mark.parametrize(("default", "maximum"), [(400, 365), (91, 90)])
def test_an_api_key_default_lifetime_beyond_the_maximum_is_refused(
    default: int, maximum: int
) -> None:
    with pytest.raises(ValidationError, match="API_KEY_DEFAULT_DAYS"):
        Settings(
            _env_file=None,
            database_url=SAFE_URL,
            api_key_default_days=default,
            api_key_max_days=maximum,
        )
