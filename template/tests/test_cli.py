"""The command-line tools answer a wrong environment with one line, never a traceback."""

from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import BigInteger, Column, Enum, ForeignKey, MetaData, Table

from app.core.config import Settings
from tools import remove_resource, resource_project
from tools.cli import one_line_errors
from tools.link_tables import link_changes


@one_line_errors
def reads_settings(argv: list[str] | None = None) -> int:
    Settings(_env_file=None, database_url=SecretStr("not a url"))
    return 0


@one_line_errors
def connects(argv: list[str] | None = None) -> int:
    raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")


def test_invalid_settings_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert reads_settings() == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("The settings are invalid: database_url:")


def test_an_unreachable_database_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert connects() == 1
    assert capsys.readouterr().err.splitlines() == [
        "Cannot reach the database (DATABASE_URL): [Errno 111] Connect call failed ('127.0.0.1', 1)"
    ]


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project's answers and registry: the service's task, a shelf, and a bin on a shelf."""
    files = {
        ".copier-answers.yml": "resource: task\nresource_fields: title:str(200)\n",
        ".copier-answers.resource-shelf.yml": "resource: shelf\nresource_fields: label:text\n",
        ".copier-answers.resource-bin.yml": "resource: bin\nresource_fields: at:ref(shelf)?\n",
        ".copier-resources.yml": "resources: {task: {}, shelf: {}, bin: {}}\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for module in (resource_project, remove_resource):
        monkeypatch.setattr(module, "PROJECT_DIR", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("crate", "'crate' is not a resource of this service (.copier-resources.yml lists: "),
        ("task", "'task' is the service's own resource: its answers are the service's"),
        ("shelf", "'shelf' is referred to by bin (a ref or refs field); remove or change those"),
    ],
)
def test_remove_resource_refuses_in_one_line_with_exit_2(
    shop: Path, name: str, refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(shop.iterdir())
    assert remove_resource.main([name]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Nothing was removed: {refusal}")
    assert sorted(shop.iterdir()) == before


def test_a_removed_table_s_enum_types_go_with_it() -> None:
    metadata = MetaData()
    status = Enum("draft", "published", name="crate_status")
    shared = Enum("a", "b", name="shared_kind")
    crates = Table(
        "crates",
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("status", status),
        Column("kind", shared),
    )
    Table("boxes", metadata, Column("id", BigInteger, primary_key=True), Column("kind", shared))
    upgrade, downgrade = remove_resource.migration_code([crates], metadata)
    for body in (upgrade, downgrade):  # as the script template writes them into a function
        compile(f"def upgrade() -> None:\n    {body}\n", "migration", "exec")
    drops = [line.strip() for line in upgrade.splitlines()]
    assert drops == ["op.drop_table('crates')", """op.execute('DROP TYPE "crate_status"')"""]
    assert "sa.Enum('draft', 'published', name='crate_status')" in downgrade


def test_a_links_table_is_created_and_dropped_whole() -> None:
    """A refs field added or dropped (tools.change_resource): its table, with its keys and
    index, created or dropped; each direction's downgrade is the other's upgrade."""
    metadata = MetaData()
    Table("posts", metadata, Column("id", BigInteger, primary_key=True))
    Table("tags", metadata, Column("id", BigInteger, primary_key=True))
    post = ForeignKey("posts.id", ondelete="CASCADE")
    tag = ForeignKey("tags.id", ondelete="RESTRICT")
    post_tag = Table(
        "post_tag",
        metadata,
        Column("post_id", BigInteger, post, primary_key=True),
        Column("tag_id", BigInteger, tag, primary_key=True, index=True),
    )
    upgrade, downgrade, dropped = link_changes([], [post_tag])
    assert dropped == []
    assert "op.create_table('post_tag'" in upgrade[0]
    assert "ondelete='CASCADE'" in upgrade[0]
    assert "ondelete='RESTRICT'" in upgrade[0]
    assert "sa.PrimaryKeyConstraint('post_id', 'tag_id'" in upgrade[0]
    assert "op.create_index(op.f('ix_post_tag_tag_id')" in upgrade[0]
    assert "op.drop_table('post_tag')" in downgrade[0]
    assert "create" not in downgrade[0]
    assert link_changes([post_tag], []) == (downgrade, upgrade, ["post_tag"])
    assert link_changes([post_tag], [post_tag]) == ([], [], [])
