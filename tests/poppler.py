"""poppler-utils, the tools a court clerk uses on a PDF: skipped when absent, required in CI.

CI (``.ci/run``) installs poppler-utils and sets ``CUSTODY_REQUIRE_POPPLER=1``, so these
checks cannot silently skip there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def tool(name: str) -> str:
    """The path of a poppler tool, or skip (fail under CUSTODY_REQUIRE_POPPLER=1)."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not installed (apt-get install poppler-utils)"
        if os.environ.get("CUSTODY_REQUIRE_POPPLER") == "1":
            pytest.fail(reason + "; required by CUSTODY_REQUIRE_POPPLER=1")
        pytest.skip(reason)
    return path


def run(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(name), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def pdftotext(
    pdf: Path, *, first: int | None = None, last: int | None = None, layout: bool = False
) -> str:
    pages: list[str] = ["-layout"] if layout else []
    if first is not None:
        pages += ["-f", str(first)]
    if last is not None:
        pages += ["-l", str(last)]
    r = run("pdftotext", *pages, pdf, "-")
    assert r.returncode == 0, r.stderr
    return r.stdout
