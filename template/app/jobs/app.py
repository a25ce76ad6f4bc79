"""The procrastinate app: which tasks exist, and how a worker reaches the database."""

from procrastinate import App
from sqlalchemy.engine import URL, make_url

from app.core.config import Settings
from app.jobs.connector import SessionConnector

# The web process never opens this app: it queues jobs through its own sessions
# (`app.jobs.queue`). A worker gives it a connector of its own (`worker_connector`).
jobs = App(connector=SessionConnector(), import_paths=["app.jobs.tasks"])


def libpq_url(url: URL) -> str:
    """An asyncpg SQLAlchemy URL as psycopg's conninfo: asyncpg's `ssl=` is libpq's `sslmode=`."""
    query = dict(url.query)
    if "ssl" in query:
        query["sslmode"] = query.pop("ssl")
    return url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


def worker_connector(settings: Settings, *, pool_size: int) -> SessionConnector:
    """A connector with connections of its own, on DATABASE_DIRECT_URL: a worker LISTENs for
    new jobs, which needs a session that PgBouncer's transaction pooling does not give."""
    return SessionConnector(
        conninfo=libpq_url(make_url(settings.direct_database_url())),
        min_size=1,
        max_size=pool_size,
        kwargs={"application_name": f"{settings.app_name[:50]} worker"},
    )
