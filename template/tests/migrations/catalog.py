"""The schema a database holds, read from pg_catalog, as lines of text that compare as sets.

Alembic's comparison (`alembic check`, pytest-alembic's model test) does not look at CHECK
constraints, and sees little of defaults, foreign key actions or index predicates. This reads all
of them, one query per kind of object, each row a line that names its table and says everything
PostgreSQL holds about the object (its definition as PostgreSQL prints it back, so equivalent
spellings read the same), so that two schemas differ exactly where their lines do. Names are
compared too: both sides name their constraints and indexes by the naming convention of
app/db/base.py, and migrations drop and alter them by name. Column order is not compared (a
column a later migration adds comes last). Tables no model describes (app/db/unmanaged.py) and
Alembic's own are left out.
"""

import re
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.unmanaged import is_managed

# Each query returns (table, line) rows for the tables of the current schema.
QUERIES = {
    "table": """
        SELECT c.relname, concat_ws(' ', 'kind', c.relkind, 'persistence', c.relpersistence,
               'comment', quote_nullable(obj_description(c.oid, 'pg_class')))
        FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
    """,
    "column": """
        SELECT c.relname, concat_ws(' ', quote_ident(a.attname),
               format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END,
               'default', quote_nullable(pg_get_expr(d.adbin, d.adrelid)),
               'identity', quote_literal(a.attidentity::text),
               'generated', quote_literal(a.attgenerated::text),
               'collation', quote_nullable(CASE WHEN a.attcollation <> t.typcollation
                                                THEN a.attcollation::regcollation::text END),
               'comment', quote_nullable(col_description(c.oid, a.attnum)))
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped
    """,
    # Primary keys, UNIQUE, CHECK, foreign keys (with ON DELETE/UPDATE, DEFERRABLE), EXCLUDE.
    "constraint": """
        SELECT c.relname, concat_ws(' ', quote_ident(k.conname), pg_get_constraintdef(k.oid),
               'comment', quote_nullable(obj_description(k.oid, 'pg_constraint')))
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = current_schema()::regnamespace
    """,
    # Every index, with its method, columns or expressions, INCLUDE, and WHERE predicate.
    "index": """
        SELECT c.relname, concat_ws(' ', pg_get_indexdef(i.indexrelid),
               'comment', quote_nullable(obj_description(i.indexrelid, 'pg_class')))
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = current_schema()::regnamespace
    """,
    # Sequences behind identity columns, named by the column they serve.
    "sequence": """
        SELECT c.relname, concat_ws(' ', quote_ident(a.attname), format_type(s.seqtypid, NULL),
               'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin,
               'max', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle)
        FROM pg_sequence s
        JOIN pg_depend dep ON dep.objid = s.seqrelid AND dep.classid = 'pg_class'::regclass
             AND dep.refclassid = 'pg_class'::regclass
        JOIN pg_class c ON c.oid = dep.refobjid
        JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
        WHERE c.relnamespace = current_schema()::regnamespace
    """,
    # Enum types, with their labels in order, named by a table that uses them.
    "enum": """
        SELECT DISTINCT c.relname, concat_ws(' ', format_type(t.oid, NULL), (
                   SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid))
        FROM pg_type t
        JOIN pg_attribute a ON a.atttypid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
        WHERE t.typtype = 'e' AND c.relnamespace = current_schema()::regnamespace
    """,
}


async def schema_lines(connection: AsyncConnection) -> set[str]:
    """Every object of the models' tables, one line each: `<kind> <table>: <definition>`."""
    lines = set()
    for kind, query in QUERIES.items():
        for table, line in await connection.execute(text(query)):
            if table != "alembic_version" and is_managed(table):
                lines.add(f"{kind} {table}: {line}")
    return lines


# Column types of tables created before template 0.3.0, which alembic/env.py's compare_type accepts
# too (CHANGELOG, 0.3.0): a str(n) field was varchar(n), now text with a length CHECK; `version`
# was integer, now bigint.
LEGACY_VARCHAR = re.compile(
    r"^column (?P<table>\S+): (?P<column>\S+) character varying\((?P<n>\d+)\) "
)
LEGACY_VERSION = re.compile(r"^column (?P<table>\S+): version integer ")


def newer_readings(line: str) -> Iterator[tuple[str, set[str]]]:
    """What `line`, of a table created before 0.3.0, reads as in a table created since: the
    column's line and the lines that come with it."""
    if found := LEGACY_VARCHAR.match(line):
        table, column, length = found["table"], found["column"], found["n"]
        newer = line.replace(" character varying(" + length + ") ", " text ", 1)
        name = f"ck_{table}_{column.strip('"')}_len"
        check = f"constraint {table}: {name} CHECK ((char_length({column}) <= {length}))"
        yield newer, {f"{check} comment NULL"}
    if LEGACY_VERSION.match(line):
        yield line.replace(" version integer ", " version bigint ", 1), set()


def with_legacy_types_accepted(migrated: set[str], modelled: set[str]) -> set[str]:
    """`migrated`, with each line of a pre-0.3.0 type read as the models describe it, where
    they do (and only there: a model may still ask for varchar)."""
    accepted = set(migrated)
    for line in migrated - modelled:
        for newer, coming in newer_readings(line):
            if newer in modelled and coming <= modelled:
                accepted = (accepted - {line}) | {newer} | coming
    return accepted


def schema_diff(migrated: set[str], modelled: set[str]) -> str:
    """The lines only one side has, each marked with its side, a table's lines together; empty
    when the schemas are the same."""
    marked = [("migrations only:", line) for line in migrated - modelled]
    marked += [("models only:    ", line) for line in modelled - migrated]
    marked.sort(key=lambda item: (item[1].split(" ", 2)[1], item[1].split(" ", 1)[0], item))
    return "\n".join(f"{side} {line}" for side, line in marked)
