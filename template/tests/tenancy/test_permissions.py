"""The permissions table: the docs say what the code checks, and each route names a permission
some role has."""

from itertools import pairwise

from app.core.permissions import ROLE_PERMISSIONS, Role, allows
from tools.permissions_table import DOCS, documented, table


def test_the_docs_table_is_the_codes() -> None:
    assert documented(DOCS.read_text()) == table(), (
        "docs/template/tenancy.md differs from app/core/permissions.py: "
        "run `uv run python -m tools.permissions_table --write`"
    )


def test_each_role_has_at_least_what_the_one_below_has() -> None:
    for higher, lower in pairwise(Role):
        assert ROLE_PERMISSIONS[lower] <= ROLE_PERMISSIONS[higher], (higher, lower)


def test_a_wildcard_grants_the_action_on_every_subject() -> None:
    assert allows(Role.MEMBER, "line_items:read")
    assert not allows(Role.MEMBER, "line_items:delete")
    assert allows(Role.ADMIN, "line_items:delete")
    assert not allows(Role.ADMIN, "owners:manage")
