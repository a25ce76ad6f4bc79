"""The ConfigMap and the Secret hold the service's settings under their exact names, secrets in
the Secret only, and together they make settings the service accepts."""

import secrets

import pytest
from pydantic import SecretStr, ValidationError

from app.core.config import Settings
from tests.deploy.manifests import Manifests, secret_example

FIELDS = Settings.model_fields
NAMES = {name.upper() for name in FIELDS}
# Variables other libraries read, documented in app/core/telemetry.py.
LIBRARY_PREFIXES = ("OTEL_",)
SECRET_FIELDS = {
    name.upper()
    for name, field in FIELDS.items()
    if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))
}


def secret_values() -> dict[str, str]:
    values: dict[str, str] = secret_example()["stringData"]
    return values


def test_every_key_names_a_setting(manifests: Manifests) -> None:
    unknown = {
        key
        for key in manifests.config()
        if key not in NAMES and not key.startswith(LIBRARY_PREFIXES)
    }
    assert not unknown, f"not settings of app/core/config.py: {sorted(unknown)}"
    assert set(secret_values()) <= NAMES


def test_secrets_are_in_the_secret_only(manifests: Manifests) -> None:
    assert SECRET_FIELDS, "Settings has no SecretStr field"
    assert set(secret_values()) == SECRET_FIELDS
    assert not SECRET_FIELDS & set(manifests.config())


def test_every_required_setting_is_given(manifests: Manifests) -> None:
    required = {name.upper() for name, field in FIELDS.items() if field.is_required()}
    assert required <= set(manifests.config()) | set(secret_values())


def made_real(placeholder: str) -> str:
    """What an operator puts in place of a placeholder: a password in a URL, or a random key."""
    if "://" in placeholder:
        return placeholder.replace(":change-me@", ":a-real-secret@")
    return secrets.token_urlsafe(48)


def configure(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> Settings:
    """The settings a pod with exactly these environment variables reads."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_the_settings_are_accepted_once_the_secrets_are_real(
    manifests: Manifests, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, placeholders = manifests.config(), secret_values()
    refusals = r"placeholder password|must be a random secret|written in the project template"
    with pytest.raises(ValidationError, match=refusals):
        configure(monkeypatch, config | placeholders)
    real = {name: made_real(value) for name, value in placeholders.items()}
    settings = configure(monkeypatch, config | real)
    assert settings.environment == "production"
    assert settings.web_concurrency == 1
    assert settings.replicas == int(config["REPLICAS"])
    assert settings.direct_database_url() == real["DATABASE_DIRECT_URL"]
