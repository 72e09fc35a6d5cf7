"""Debian's chromium driven by Playwright: no browser download, loopback traffic only.

Locally the browser tests skip with a reason when chromium is missing; CI sets
CUSTODY_REQUIRE_BROWSER=1 (``.ci/run`` installs chromium with apt), so there they fail
instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CUSTODY_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("CUSTODY_REQUIRE_BROWSER") == "1"
# the machine's closed network refuses chromium's own background connections
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    path = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if path and os.access(path, os.X_OK):
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[server,test]')"
        else:
            return path
    else:
        reason = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    if REQUIRE:
        pytest.fail(f"{reason}; CI requires the browser tests (CUSTODY_REQUIRE_BROWSER=1)")
    pytest.skip(f"{reason}; the browser tests need Debian's chromium")


def screenshot_dir(default: Path) -> Path:
    """Where screenshots go: CUSTODY_SCREENSHOT_DIR, else the test run's temporary folder."""
    chosen = os.environ.get("CUSTODY_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else default
    folder.mkdir(parents=True, exist_ok=True)
    return folder
