"""Limits on attempts per key within a window (failed sign-ins, password reset requests) that
hold whatever the concurrency.

Reading a count, doing the work, then recording the attempt lets every parallel request read the
same count: 30 parallel guesses at an account limited to 5 had 16 passwords checked. Here an
attempt is counted first, committed, and only then are the counts read: of the attempts that go
ahead, the last to read its count sees every other one (each committed before reading its own),
so no more than the limit go ahead. Parallel attempts may see one another and all be refused:
the limits err on the side of refusing. A refused attempt takes its counts back; one that went
ahead keeps them (a failure) or gives them back (`AttemptLimiter.forgive`, a success).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import TooManyAttemptsError
from app.repos.login_failure import LoginFailureRepository


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `attempts` under `key` within the window."""

    key: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Admission:
    """An attempt allowed to go ahead: the id of its count under each key."""

    counted: dict[str, int]


class AttemptLimiter:
    def __init__(self, session: AsyncSession, window: timedelta, refusal: str) -> None:
        self.session = session
        self.window = window
        self.refusal = refusal
        self.attempts = LoginFailureRepository(session)

    async def admit(self, limits: list[Limit], now: datetime) -> Admission:
        """Count an attempt under each limit's key (committed), or raise TooManyAttemptsError
        if that takes any key beyond its limit (counting nothing then). Commits the session."""
        keys, window_start = [limit.key for limit in limits], now - self.window
        ids = await self.attempts.record(keys, now, window_start)
        await self.session.commit()
        counts = await self.attempts.counts_since(keys, window_start)
        if any(counts.get(limit.key, 0) > limit.attempts for limit in limits):
            await self.attempts.discard(ids)
            await self.session.commit()
            raise TooManyAttemptsError(
                self.refusal, retry_after_seconds=int(self.window.total_seconds())
            )
        return Admission(dict(zip(keys, ids, strict=True)))

    async def forgive(self, admission: Admission, *, forget: tuple[str, ...] = ()) -> None:
        """Take back the admitted attempt's counts, and every count under the keys `forget`
        (not committed: part of the success's transaction)."""
        await self.attempts.discard(list(admission.counted.values()))
        for key in forget:
            await self.forget(key)

    async def forget(self, key: str) -> None:
        """Forget every attempt under `key` (not committed)."""
        await self.attempts.forget(key)
