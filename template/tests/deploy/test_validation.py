"""Every manifest is valid for the pinned Kubernetes version, offline and strictly (an unknown or
misspelt field fails), as written and as kustomize builds it."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.manifests import (
    BASE,
    BUILDS,
    KUBERNETES_VERSION,
    kustomize_output,
    object_files,
)

VALIDATE = Path(sys.executable).parent / "kubernetes-validate"  # from the dev dependencies


def validate(*files: Path) -> None:
    result = subprocess.run(  # noqa: S603  (kubernetes-validate of this project's environment)
        [str(VALIDATE), "--strict", "--quiet", "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_file_is_valid() -> None:
    files = object_files()
    assert any(path.name == "api.yaml" for path in files)
    validate(*files)


@pytest.mark.parametrize("build", BUILDS)
def test_every_kustomize_build_is_valid(build: str, tmp_path: Path) -> None:
    built = tmp_path / "built.yaml"
    built.write_text(kustomize_output(build))
    validate(built)


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    """The check itself: strict validation fails a misspelt field."""
    misspelt = tmp_path / "misspelt.yaml"
    api = (BASE / "api.yaml").read_text()
    misspelt.write_text(api.replace("readinessProbe:", "readynessProbe:"))
    with pytest.raises(AssertionError, match="readynessProbe"):
        validate(misspelt)
