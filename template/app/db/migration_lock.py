"""The lock that makes concurrent `alembic upgrade head` runs (one per replica) take turns.

A session-level PostgreSQL advisory lock, held on the migrating connection for the whole run: the
first run applies the revisions, the others wait, then find nothing left to do. Not
`pg_advisory_xact_lock`, which a migration that commits on its own (`CREATE INDEX CONCURRENTLY`
in an autocommit block) would release early. The wait polls `pg_try_advisory_lock`, so it stays
bounded and ends with an error naming the holder instead of hanging a deployment.
"""

import time

from sqlalchemy import Connection, text

# The key every migration run of a database takes (advisory locks are scoped to one database).
MIGRATION_LOCK_KEY = 0x6D69_6772  # "migr"
POLL_SECONDS = 0.5

# The server processes holding the lock (a key below 2**32 is stored in objid).
LOCK_HOLDERS = text(
    "SELECT string_agg(pid::text, ', ') FROM pg_locks"
    " WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = :key"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class MigrationLockTimeoutError(RuntimeError):
    """Another migration held the lock for longer than the allowed wait."""


def _execute_committed(connection: Connection, statement: str) -> object:
    """Run `statement`, committing it unless the caller's own transaction is open."""
    external = connection.in_transaction()
    result = connection.execute(text(statement), {"key": MIGRATION_LOCK_KEY}).scalar()
    if not external:
        connection.commit()
    return result


def acquire(connection: Connection, wait_seconds: float) -> None:
    """Take the migration lock, waiting at most `wait_seconds` for another run to finish."""
    deadline = time.monotonic() + wait_seconds
    while not _execute_committed(connection, "SELECT pg_try_advisory_lock(:key)"):
        if time.monotonic() >= deadline:
            holders = connection.execute(LOCK_HOLDERS, {"key": MIGRATION_LOCK_KEY}).scalar()
            raise MigrationLockTimeoutError(
                f"Another migration has held the migration lock for over {wait_seconds:g}s "
                f"(server process {holders or 'unknown'}). Let it finish, or end it with "
                "SELECT pg_terminate_backend(<pid>) if it is stuck; wait longer with "
                "MIGRATION_LOCK_TIMEOUT_SECONDS."
            )
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))


def release(connection: Connection) -> None:
    _execute_committed(connection, "SELECT pg_advisory_unlock(:key)")
