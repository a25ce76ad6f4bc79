"""Each check of the manifests runs on every variant (see tests/deploy/manifests.py)."""

import pytest

from tests.deploy.manifests import VARIANTS, Manifests


@pytest.fixture(params=VARIANTS)
def manifests(request: pytest.FixtureRequest) -> Manifests:
    variant: str = request.param
    return Manifests.of(variant)
