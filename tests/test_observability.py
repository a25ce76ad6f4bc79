"""The `observability` question: every choice, with and without Docker, renders the files it
promises and none it does not (the variants in tests/variants.py run each choice end to end)."""

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from tests.support.paths import TEMPLATE_ROOT

CHOICES = [[], ["otel"], ["prometheus"], ["otel", "prometheus"]]
OTEL_FILES = [
    "app/core/telemetry.py",
    "app/db/tracing.py",
    "tests/observability/test_tracing.py",
    "tests/observability/test_otlp_export.py",
    "tests/observability/otlp_receiver.py",
]
PROMETHEUS_FILES = ["app/api/metrics.py", "tests/observability/test_metrics.py"]


def render(destination: Path, answers: dict[str, Any]) -> Path:
    data = {"project_name": "Observed"} | answers
    run_copy(str(TEMPLATE_ROOT), destination, data=data, defaults=True, quiet=True, vcs_ref="HEAD")
    return destination


@pytest.mark.parametrize(
    ("observability", "use_docker"),
    list(itertools.product(CHOICES, [True, False])),
    ids=lambda value: "+".join(value) or "none" if isinstance(value, list) else f"docker={value}",
)
def test_each_choice_renders_its_files_only(
    tmp_path: Path, observability: list[str], use_docker: bool
) -> None:
    project = render(
        tmp_path / "project", {"observability": observability, "use_docker": use_docker}
    )
    otel, prometheus = "otel" in observability, "prometheus" in observability

    for path in OTEL_FILES:
        assert (project / path).is_file() == otel, path
    for path in PROMETHEUS_FILES:
        assert (project / path).is_file() == prometheus, path
    assert (project / "tests/observability/service.py").is_file() == bool(observability)

    dependencies = (project / "pyproject.toml").read_text()
    assert ("opentelemetry-sdk" in dependencies) == otel
    assert ("prometheus-client" in dependencies) == prometheus
    logging = (project / "app/core/logging.py").read_text()
    assert ("add_trace_ids" in logging) == otel
    if not use_docker:
        assert not (project / "compose.yaml").exists()
        return
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    assert ("otel-lgtm" in compose["services"]) == otel
    app_env = compose["services"]["app"]["environment"]
    assert app_env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert ("METRICS_HOST" in app_env) == prometheus
    published = [
        port for service in compose["services"].values() for port in service.get("ports", [])
    ]
    assert not [port for port in published if "9000" in str(port)]  # metrics are never published
    if otel:
        assert compose["services"]["otel-lgtm"]["profiles"] == ["observability"]
        assert compose["services"]["otel-lgtm"]["ports"] == ["127.0.0.1:3000:3000"]
