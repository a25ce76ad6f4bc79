"""Jobs without PostgreSQL: procrastinate's in-memory connector, for unit tests."""

from collections.abc import Iterator
from contextlib import contextmanager

from procrastinate.testing import InMemoryConnector

from app.jobs.app import jobs


@contextmanager
def in_memory_jobs() -> Iterator[InMemoryConnector]:
    """Jobs queued (through any session) land in the returned connector's `jobs` instead."""
    connector = InMemoryConnector()
    with jobs.replace_connector(connector):
        yield connector
