"""The pure core stays pure: the offline verifier must run with custody/ alone."""

from __future__ import annotations

import json
import subprocess
import sys

PURE = [
    "custody.canonical",
    "custody.digests",
    "custody.ledger",
    "custody.merkle",
    "custody.checkpoint",
    "custody.log_audit",
    "custody.policy",
    "custody.state",
    "custody.report",
    "custody.bundle",
    "custody.errors",
]
FORBIDDEN = ["sqlalchemy", "sqlmodel", "alembic", "fastapi", "starlette", "minio", "httpx"]
FORBIDDEN += ["api", "storage", "cli", "bagit", "fpdf"]


def test_pure_modules_import_no_web_database_or_storage_code() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {PURE!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
