"""Reading PostgreSQL error details out of SQLAlchemy's exception wrappers."""

from sqlalchemy.exc import DBAPIError

UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
QUERY_CANCELED = "57014"  # statement_timeout expired
DATA_EXCEPTION_CLASS = "22"  # a value the column type cannot hold


def driver_error(error: DBAPIError) -> BaseException | None:
    """The asyncpg exception behind `error` (it carries sqlstate, constraint_name, table_name)."""
    return error.orig.__cause__ if error.orig is not None else None


def sqlstate(error: DBAPIError) -> str:
    return str(getattr(driver_error(error), "sqlstate", "") or "")
