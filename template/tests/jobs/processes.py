"""Workers in processes of their own, as deployed: started, signalled, killed, and read."""

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from app.core.config import Settings
from tests.database import PROJECT_DIR, database_environment

DEADLINE_SECONDS = 60  # for what should take a second: generous, for a loaded machine
BASE_ENV = {"ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}


@dataclass
class WorkerProcess:
    """A worker process and the lines it has logged so far (stderr; stdout goes there too)."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def wait_for_line(self, text: str, *, after: str = "") -> str:
        """The first line logged that contains `text` (after the first that contains `after`),
        waiting for it."""
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                while not (found := self._find(text, after)):
                    if not await self._read_line():
                        break
        except TimeoutError:
            found = None
        if found is None:
            raise AssertionError(f"{text!r} not logged after {after!r}:\n{self.output}")
        return found

    async def exit_code(self) -> int:
        """Read to the end of its output, and wait for it to exit."""
        async with asyncio.timeout(DEADLINE_SECONDS):
            while await self._read_line():
                pass
            return await self.process.wait()

    def send_signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def _find(self, text: str, after: str) -> str | None:
        lines = iter(self.lines)
        if after and not any(after in line for line in lines):
            return None
        return next((line for line in lines if text in line), None)

    async def _read_line(self) -> bool:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if line:
            self.lines.append(line.decode())
        return bool(line)


@asynccontextmanager
async def worker_process(
    settings: Settings, env: Mapping[str, str], module: str = "tests.jobs.probe_worker"
) -> AsyncIterator[WorkerProcess]:
    """`python -m module` (a worker) on `settings`' database with `env`; killed at the end if
    it still runs."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        cwd=PROJECT_DIR,
        env=BASE_ENV | database_environment(settings) | dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield WorkerProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
