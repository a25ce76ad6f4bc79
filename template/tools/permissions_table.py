"""Print the table of what each role may do (docs/template/tenancy.md), made from the one table
the app checks (app/core/permissions.py); with --write, put it in the docs.

    uv run python -m tools.permissions_table [--write]

tests/tenancy/test_permissions.py fails when the docs and the code disagree.
"""

import argparse
import sys
from pathlib import Path

from app.core.permissions import ROLE_PERMISSIONS, Role

DOCS = Path(__file__).resolve().parent.parent / "docs" / "template" / "tenancy.md"
START, END = "<!-- permissions: start -->", "<!-- permissions: end -->"
MEANING = {  # what each permission allows, in the table's order
    "*:read": "read every resource's records (`tasks:read`, ...)",
    "*:write": "create and change them",
    "*:delete": "delete them",
    "members:read": "see the organization and its members",
    "members:manage": "change members' roles, remove members (not owners)",
    "invitations:manage": "invite people, see and revoke invitations",
    "owners:manage": "make, unmake and remove owners; invite owners",
    "organization:manage": "rename the organization",
}


def table() -> str:
    """The Markdown table: one row per permission, one column per role."""
    roles = list(Role)
    permissions = sorted({p for granted in ROLE_PERMISSIONS.values() for p in granted}, key=order)
    lines = [
        "| Permission | " + " | ".join(roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for permission in permissions:
        marks = " | ".join("yes" if permission in ROLE_PERMISSIONS[role] else "" for role in roles)
        meaning = MEANING.get(permission, "")
        lines.append(f"| `{permission}`{': ' + meaning if meaning else ''} | {marks} |")
    return "\n".join(lines) + "\n"


def order(permission: str) -> tuple[int, str]:
    """In MEANING's order, then the others by name."""
    known = list(MEANING)
    return (known.index(permission) if permission in known else len(known), permission)


def documented(text: str) -> str:
    """The table between the markers of `text`."""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.permissions_table", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {DOCS.name}")
    args = parser.parse_args()
    if not args.write:
        print(table(), end="")
        return 0
    text = DOCS.read_text()
    if START not in text or END not in text:
        print(f"{DOCS} has no {START} ... {END} markers.", file=sys.stderr)
        return 2
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOCS.write_text(f"{before}{START}\n{table()}{END}{after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
