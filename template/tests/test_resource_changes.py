"""tools.change_resource's two halves without Copier or a database: the field spec it writes,
and the migrations it derives from the table before and after (tests/migrations runs those it
wrote in a project against PostgreSQL)."""

import textwrap

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from app.db.base import NAMING_CONVENTION
from tools.change_resource import SpecChange
from tools.resource_project import RefusedError
from tools.table_changes import TableChange

SPEC = "title:str(200) note:text? done:bool=false tags:refs(tag)"


def test_a_spec_change_keeps_the_order_and_what_it_does_not_name() -> None:
    change = SpecChange(
        add=["due:date?"], drop=["note"], rename={"title": "name"}, alter=["done:bool"]
    )
    assert change.applied_to(SPEC) == "name:str(200) done:bool tags:refs(tag) due:date?"
    assert change.summary() == "add due; rename title to name; alter done; drop note"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (SpecChange([], ["size"], {}, []), "--drop size: no such field"),
        (SpecChange([], [], {"title": "done"}, []), "--rename title=done: there is a field"),
        (SpecChange([], [], {"size": "width"}, []), "--rename size: no such field"),
        (SpecChange([], [], {}, ["size:int"]), "--alter size: no such field"),
        (SpecChange(["done:bool"], [], {}, []), "--add done: there is a field 'done' already"),
        (SpecChange([], [], {}, ["done:bool=false"]), "--alter done:bool=false: that is its spec"),
        (SpecChange([], [], {}, ["tags:int"]), "--alter tags: a refs field stays as it is"),
        (SpecChange([], [], {"tags": "labels"}, []), "--rename tags=labels: a refs field's"),
    ],
)
def test_a_spec_change_naming_what_is_not_there_is_refused(
    change: SpecChange, refusal: str
) -> None:
    with pytest.raises(RefusedError, match=f"^{refusal}"):
        change.applied_to(SPEC)


def books(*columns: Column[object], checks: dict[str, str] | None = None) -> Table:
    """A `books` table as a resource's model describes it, named as app/db/base.py names."""
    constraints = [CheckConstraint(text(sql), name=name) for name, sql in (checks or {}).items()]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    key = Column("id", BigInteger, primary_key=True)
    return Table("books", metadata, key, *columns, *constraints)


def code(migrations: list[tuple[list[str], list[str], dict[str, str]]]) -> list[str]:
    """Each migration's upgrade and downgrade, checked to compile as function bodies."""
    bodies = []
    for upgrade, downgrade, _ in migrations:
        for steps in (upgrade, downgrade):
            body = "\n".join(steps)
            compile("def f() -> None:\n" + textwrap.indent(body or "pass", "    "), "m", "exec")
            bodies.append(body)
    return bodies


def test_a_renamed_column_takes_its_constraints_names_along() -> None:
    before = books(
        Column("title", Text, nullable=False), checks={"title_len": 'char_length("title") <= 9'}
    )
    after = books(
        Column("name", Text, nullable=False), checks={"name_len": 'char_length("name") <= 9'}
    )
    [(upgrade, downgrade, findings)] = TableChange(before, after, {"title": "name"}).migrations()
    assert upgrade == [
        "op.alter_column('books', 'title', new_column_name='name')",
        "migration_ops.rename_constraint('books', 'ck_books_title_len', 'ck_books_name_len')",
    ]
    assert "op.alter_column('books', 'name', new_column_name='title')" in downgrade
    assert set(findings) == {"renaming-column", "renaming-object"}


def test_a_new_required_column_needs_a_fill_or_a_default() -> None:
    before = books()
    after = books(Column("done", Boolean, nullable=False))
    with pytest.raises(RefusedError, match="'done' is required and has no default"):
        TableChange(before, after).migrations()
    [(upgrade, _, findings)] = TableChange(before, after, fills={"done": "true"}).migrations()
    assert "server_default=sa.text('true'), nullable=False" in upgrade[0]
    assert upgrade[1] == "op.alter_column('books', 'done', server_default=None)"
    assert "ban-drop-default" in findings
    with pytest.raises(
        RefusedError, match=r"--fill done=maybe: not a value of its type \(bool\)\."
    ):
        TableChange(before, after, fills={"done": "maybe"}).migrations()


def test_a_fill_that_nothing_needs_is_refused() -> None:
    table = books(Column("done", Boolean, nullable=True))
    with pytest.raises(RefusedError, match="--fill done: the field does not become required"):
        TableChange(table, table, fills={"done": "true"}).migrations()


def test_rows_are_checked_and_indexes_built_in_a_second_migration() -> None:
    before = books(Column("isbn", Text, nullable=True))
    after = books(
        Column("isbn", Text, nullable=False, unique=True),
        checks={"isbn_len": 'char_length("isbn") <= 13'},
    )
    migrations = TableChange(before, after, fills={"isbn": "unknown"}).migrations()
    first, second = code(migrations)[0], code(migrations)[2]
    assert "migration_ops.prepare_not_null('books', 'isbn')" in first
    assert "migration_ops.add_check('books', 'ck_books_isbn_len'" in first
    # The rows are filled and read outside the transaction, which holds the table's lock.
    assert "validate" not in first.lower()
    assert "fill" not in first
    assert second.splitlines() == [
        "with migration_ops.outside_the_transaction():",
        "    migration_ops.fill_nulls('books', 'isbn', \"'unknown'\")",
        "    migration_ops.validate('books', 'ck_books_isbn_not_null')",
        "    migration_ops.validate('books', 'ck_books_isbn_len')",
        "    migration_ops.create_index('uq_books_isbn', 'books', 'isbn', unique=True)",
        "migration_ops.set_not_null('books', 'isbn')",
        "migration_ops.add_unique('books', 'uq_books_isbn')",
    ]
    # The first one's downgrade also drops an index the second left invalid.
    assert code(migrations)[1].endswith(
        "with migration_ops.outside_the_transaction():\n"
        "    migration_ops.drop_index('uq_books_isbn')"
    )
    # Undone alone, the second part leaves the table as the first made it.
    assert code(migrations)[3].splitlines() == [
        "migration_ops.drop_constraint('books', 'uq_books_isbn')",
        "migration_ops.prepare_not_null('books', 'isbn')",
        "op.alter_column('books', 'isbn', nullable=True)",
    ]
    assert set(migrations[1][2]) == {
        "prefer-robust-stmts",
        "adding-not-nullable-field",
        "ban-drop-constraint",
    }


def test_a_new_type_converts_the_column_and_says_what_it_costs() -> None:
    before = books(Column("pages", Integer, nullable=False))
    after = books(Column("pages", BigInteger, nullable=False))
    [(upgrade, downgrade, findings)] = TableChange(before, after).migrations()
    assert upgrade == [
        "op.alter_column('books', 'pages',\n"
        "existing_type=sa.Integer(),\n"
        "type_=sa.BigInteger(), postgresql_using='\"pages\"::BIGINT')"
    ]
    assert "type_=sa.Integer()" in downgrade[0]
    assert set(findings) == {"changing-column-type"}


def test_a_change_the_table_does_not_see_writes_no_migration() -> None:
    table = books(Column("pages", Integer, nullable=False))
    assert TableChange(table, table).migrations() == []
