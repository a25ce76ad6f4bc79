"""Headless Chromium (Debian's `chromium` package) for pages served on loopback, with no network.

Chromium's own command line is enough here: `--dump-dom` prints the page after its scripts ran
(for `--virtual-time-budget` ms of page time) and `--screenshot` writes a PNG. No browser driver
(Playwright, Selenium) is needed until a test has to click; each call starts a fresh browser with a
profile of its own; every host name but 127.0.0.1 fails to resolve and every other address goes
to a proxy that is not there, so a page that fetches anything from elsewhere (a CDN) is caught by
what it then shows.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PAGE_TIME_MS = 15_000


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("Chromium is needed for the browser tests: apt-get install chromium")
    return found


def run_headless(url: str, *options: str) -> str:
    """Load `url` in a fresh headless Chromium that can reach loopback only; return stdout."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",  # tests may run as root
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            # IP addresses go to a proxy where nothing listens; loopback never goes to a proxy.
            "--proxy-server=127.0.0.1:9",
            f"--virtual-time-budget={PAGE_TIME_MS}",
            *options,
            url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"chromium failed on {url}:\n{result.stderr[-3000:]}"
    return result.stdout


def rendered_dom(url: str) -> str:
    """The page's DOM as HTML after its scripts ran."""
    return run_headless(url, "--dump-dom")


def screenshot(url: str, path: Path, width: int = 1280, height: int = 1100) -> Path:
    run_headless(url, f"--screenshot={path}", f"--window-size={width},{height}")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"no PNG screenshot of {url}"
    return path
