"""What every job test shares: queues that hold only the jobs the test put there."""

import pytest

from app.jobs import worker


def no_housekeeping_schedule() -> None:
    """`worker.schedule_housekeeping` for tests: the daily clean-up's cron (03:17 UTC) would
    add its job to the queue of any test whose worker starts within procrastinate's catch-up
    window after it, and a test counts or takes the jobs it queued."""


@pytest.fixture(autouse=True)
def queues_without_housekeeping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "schedule_housekeeping", no_housekeeping_schedule)
