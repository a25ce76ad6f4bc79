"""The password hasher, the access-token codec and the limits, built once from the settings."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Self

from app.core.config import Settings
from app.security.passwords import Passwords
from app.security.tokens import AccessTokens


@dataclass(frozen=True)
class Credentials:
    passwords: Passwords
    access_tokens: AccessTokens
    refresh_lifetime: timedelta
    reset_lifetime: timedelta
    max_failures: int
    max_failures_per_client: int
    failure_window: timedelta
    api_key_default_lifetime: timedelta
    api_key_max_lifetime: timedelta
    max_resets: int
    max_resets_per_client: int
    reset_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            passwords=Passwords(
                settings.password_hash_time_cost,
                settings.password_hash_memory_kib,
                settings.password_hash_parallelism,
            ),
            access_tokens=AccessTokens(
                settings.auth_secret_key.get_secret_value(),
                issuer=settings.auth_issuer,
                audience=settings.auth_audience,
                lifetime=timedelta(minutes=settings.access_token_minutes),
            ),
            refresh_lifetime=timedelta(days=settings.refresh_token_days),
            reset_lifetime=timedelta(minutes=settings.reset_token_minutes),
            max_failures=settings.login_max_failures,
            max_failures_per_client=settings.login_max_failures_per_client,
            failure_window=timedelta(minutes=settings.login_failure_window_minutes),
            api_key_default_lifetime=timedelta(days=settings.api_key_default_days),
            api_key_max_lifetime=timedelta(days=settings.api_key_max_days),
            max_resets=settings.password_reset_max_requests,
            max_resets_per_client=settings.password_reset_max_requests_per_client,
            reset_window=timedelta(minutes=settings.password_reset_window_minutes),
        )
