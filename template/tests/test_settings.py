"""Settings refuse unsafe production configurations and translate into engine options."""

from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.db.session import connect_args

SAFE = "postgresql+asyncpg://app:a-real-secret@db.internal:5432/app?ssl=require"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://app:x@db/app", "must use the asyncpg driver"),
        ("postgresql+psycopg://app:x@db/app", "must use the asyncpg driver"),
        ("not a url", "is not a database URL"),
    ],
)
def test_the_database_url_must_use_asyncpg(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        settings(database_url=url)
    assert ":x@" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+asyncpg://app:postgres@db/app?ssl=require", "placeholder password"),
        ("postgresql+asyncpg://app@db/app?ssl=require", "placeholder password"),
        ("postgresql+asyncpg://app:a-real-secret@db/app", "must use TLS"),
        ("postgresql+asyncpg://app:a-real-secret@db/app?ssl=disable", "must use TLS"),
    ],
)
def test_production_refuses_an_insecure_database_url(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        settings(environment="production", database_url=url)
    assert "a-real-secret" not in str(refused.value)
    insecure_but_allowed = settings(
        environment="production", database_url=url, allow_insecure_database_url=True
    )
    assert insecure_but_allowed.environment == "production"


def test_production_accepts_a_secure_database_url() -> None:
    assert settings(environment="production", database_url=SAFE).log_json


def test_development_may_use_any_asyncpg_url() -> None:
    configured = settings(database_url="postgresql+asyncpg://postgres@localhost/dev")
    assert not configured.log_json


def test_pgbouncer_mode_disables_prepared_statement_caches() -> None:
    options = connect_args(settings(database_url=SAFE, db_pgbouncer=True))
    assert options["statement_cache_size"] == 0
    assert options["prepared_statement_cache_size"] == 0
    assert options["prepared_statement_name_func"]() != options["prepared_statement_name_func"]()
    assert "statement_timeout" not in options["server_settings"]


def test_direct_connections_keep_caches_and_set_a_statement_timeout() -> None:
    options = connect_args(settings(database_url=SAFE, db_statement_timeout_ms=2500))
    assert "statement_cache_size" not in options
    assert options["server_settings"]["statement_timeout"] == "2500"
