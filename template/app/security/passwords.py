"""Password hashing with Argon2 (pwdlib), off the event loop.

Argon2 costs tens of milliseconds of CPU by design: hashing in an `async def` would stall every
other request of the process. argon2-cffi releases the GIL, so a worker thread lets them flow.
"""

from functools import cached_property

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

# A password no one has: verified against when the email is unknown, so that login takes the
# same time whether or not the account exists.
DUMMY_PASSWORD = "dummy password for unknown accounts"  # noqa: S105  (not a credential)
# How every hash this module makes begins (the PHC string format of Argon2).
ARGON2_PREFIX = "$argon2"


class Passwords:
    """Hashes and verifies passwords with the configured Argon2 parameters."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._hash = PasswordHash((hasher,))

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash to store when the parameters changed
        since `password_hash` was made (None: keep it). No hash: checks a dummy one, in the
        same time, and fails."""
        if password_hash is None or not password_hash.startswith(ARGON2_PREFIX):
            # No hash, or none of ours: an account nobody signs in to (the legacy owner's
            # "!"), refused like an unknown one, not a 500 that tells it exists.
            await to_thread.run_sync(self._verify_dummy, password)
            return False, None
        return await to_thread.run_sync(self._hash.verify_and_update, password, password_hash)

    def _verify_dummy(self, password: str) -> None:
        self._hash.verify(password, self._dummy_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash(DUMMY_PASSWORD)
