"""The Kubernetes manifests of deploy/kubernetes, read the ways the tests check them.

A *variant* is one set of objects Kubernetes would receive: `base-files` (base/'s files as they
are, plus the ConfigMap its kustomization generates), and the `kubectl kustomize` build of base/
and of each overlay. The builds need kubectl; without it they are skipped, saying so.
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
SECRET_EXAMPLE = KUBERNETES / "secret.example.yaml"
OVERLAYS = tuple(
    sorted(
        path.parent.relative_to(KUBERNETES).as_posix()
        for path in KUBERNETES.glob("overlays/*/kustomization.yaml")
    )
)
BUILDS = ("base", *OVERLAYS)
VARIANTS = ("base-files", *BUILDS)
# The oldest Kubernetes the manifests are written for (autoscaling/v2, policy/v1 and the
# kubernetes.io/metadata.name namespace label are older); kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.33.0"
NO_KUBECTL = (
    "kubectl is not installed, so the kustomize builds are not checked: install it "
    "(https://kubernetes.io/docs/tasks/tools/) to check what the overlays produce"
)

# A parsed YAML object: its shape is Kubernetes', checked by kubernetes-validate.
Manifest = dict[str, Any]


def documents(text: str) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(text) if document]


def kustomization(directory: Path) -> Manifest:
    loaded: Manifest = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return loaded


def object_files() -> list[Path]:
    """Every file under deploy/kubernetes that holds Kubernetes objects."""
    return sorted(path for path in KUBERNETES.rglob("*.yaml") if path.name != "kustomization.yaml")


def generated_config_map() -> Manifest:
    """The ConfigMap base/kustomization.yaml's configMapGenerator makes, without the hash suffix
    kustomize adds to its name. Written out here (a few lines, literals only) so that the base
    is checked where kubectl is missing; the kustomize builds check the real thing."""
    spec = kustomization(BASE)
    (generator,) = spec["configMapGenerator"]
    data = dict(literal.split("=", 1) for literal in generator["literals"])
    labels = spec["generatorOptions"]["labels"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": generator["name"], "labels": labels},
        "data": data,
    }


def kubectl() -> str | None:
    return shutil.which("kubectl")


@cache
def kustomize_output(build: str) -> str:
    command = kubectl()
    if command is None:
        pytest.skip(NO_KUBECTL)
    result = subprocess.run(  # noqa: S603  (kubectl from PATH, on this project's own files)
        [command, "kustomize", str(KUBERNETES / build)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {build}:\n{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Manifests:
    """The objects of one variant, and the lookups the checks need."""

    variant: str
    objects: tuple[Manifest, ...]

    @classmethod
    def of(cls, variant: str) -> "Manifests":
        if variant == "base-files":
            files = [document for path in object_files() if path.parent == BASE
                     for document in documents(path.read_text())]  # fmt: skip
            return cls(variant, (*files, generated_config_map()))
        return cls(variant, tuple(documents(kustomize_output(variant))))

    def of_kind(self, kind: str) -> list[Manifest]:
        return [manifest for manifest in self.objects if manifest["kind"] == kind]

    def one(self, kind: str, component: str | None = None) -> Manifest:
        found = [
            manifest
            for manifest in self.of_kind(kind)
            if component is None or labels(manifest).get("app.kubernetes.io/component") == component
        ]
        assert len(found) == 1, f"{self.variant}: {len(found)} {kind} of component {component}"
        return found[0]

    def named(self, kind: str, name: str) -> Manifest:
        (found,) = (m for m in self.of_kind(kind) if m["metadata"]["name"] == name)
        return found

    def pod_templates(self) -> Iterator[tuple[str, Manifest]]:
        """(workload name, pod template spec) of every Deployment and Job."""
        for manifest in self.objects:
            if manifest["kind"] in {"Deployment", "Job"}:
                yield manifest["metadata"]["name"], manifest["spec"]["template"]

    def config(self) -> dict[str, str]:
        data: dict[str, str] = self.one("ConfigMap", "config")["data"]
        return data


def labels(manifest: Manifest) -> dict[str, str]:
    found: dict[str, str] = manifest["metadata"].get("labels", {})
    return found


def containers(pod_template: Manifest) -> list[Manifest]:
    spec = pod_template["spec"]
    found: list[Manifest] = spec["containers"] + spec.get("initContainers", [])
    return found


def secret_example() -> Manifest:
    (secret,) = documents(SECRET_EXAMPLE.read_text())
    return secret


def dockerfile_user() -> int:
    """The uid the image runs as (`USER 10001`)."""
    match = re.search(r"^USER (\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None, "the Dockerfile sets no numeric USER"
    return int(match.group(1))


def dockerfile_command() -> list[str]:
    """The image's CMD, the API containers' command."""
    match = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None, "the Dockerfile has no exec-form CMD"
    command: list[str] = yaml.safe_load(match.group(1))  # a JSON array
    return command
