"""Writing a migration the resource commands made: Alembic's script template filled with their
upgrade and downgrade code, the migration-lint findings they accept for it, and formatted as
`alembic revision`'s post-write hooks would (alembic.ini)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from alembic import util
from alembic.script import Script, ScriptDirectory

from tools.resource_project import PROJECT_DIR, RefusedError


def function_body(pieces: list[str]) -> str:
    """`pieces` of code as the script template's `${upgrades}` takes them: every line indented
    as in a function but the first (the template indents it), without Alembic's "auto generated
    - please adjust" comment lines."""
    lines = []
    for piece in pieces:
        kept = [line for line in piece.splitlines() if not line.strip().startswith("# ###")]
        lines += textwrap.dedent("\n".join(kept)).strip().splitlines()
    return textwrap.indent("\n".join(lines), "    ").lstrip()


def accepted_findings_block(accepted: dict[str, str]) -> str:
    """The findings as a dict literal, each reason in lines short enough for ruff."""
    lines = []
    for rule, why in accepted.items():
        pieces = textwrap.wrap(why, width=80, drop_whitespace=False)
        if len(pieces) == 1:
            lines.append(f"    {json.dumps(rule)}: {json.dumps(why)},")
        else:
            lines += [f"    {json.dumps(rule)}: (", *(f"        {json.dumps(p)}" for p in pieces)]
            lines.append("    ),")
    return (
        "# Findings of the migration lint (tests/migrations/test_migration_lint.py) reviewed and\n"
        "# accepted for this migration.\n"
        "ACCEPTED_FINDINGS: dict[str, str] = {\n" + "\n".join(lines) + "\n}\n"
    )


def tidy(path: Path) -> None:
    """Format the migration, as `alembic revision`'s post-write hooks would, but quietly and
    after the findings block is in."""
    for check in (["format"], ["check", "--fix"]):
        command = [sys.executable, "-m", "ruff", *check, "--quiet", str(path)]
        subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, check=False)


def write_migration(
    scripts: ScriptDirectory,
    head: str,
    message: str,
    code: tuple[str, str],
    accepted: dict[str, str],
) -> Script:
    """A new migration after `head` running `code` (upgrade, downgrade bodies as
    `function_body` makes them), accepting the lint's `accepted` findings (rule -> why)."""
    upgrade, downgrade = code
    imports = []
    if "migration_ops." in upgrade + downgrade:
        imports.append("from app.db import migration_ops")
    if "postgresql." in upgrade + downgrade:
        imports.append("from sqlalchemy.dialects import postgresql")
    if "tenancy." in upgrade + downgrade:  # row-level security's policies (app/db/tenancy.py)
        imports.append("from app.db import tenancy")
    scripts.hooks = []  # run by tidy() below, once the file is complete
    script = scripts.generate_revision(
        util.rev_id(),
        message,
        head=head,
        upgrades=upgrade,
        downgrades=downgrade,
        imports="\n".join(imports),
    )
    if script is None:  # Alembic returns None only for a file it cannot read back
        raise RefusedError(f"Alembic wrote no readable migration for {message!r}.")
    path = Path(script.path)
    if accepted:  # after the revision identifiers, where the script template puts nothing
        text = path.read_text()
        at = text.index("\n\ndef upgrade(")
        path.write_text(text[:at] + "\n\n" + accepted_findings_block(accepted) + text[at:])
    tidy(path)
    return script
