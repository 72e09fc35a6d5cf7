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
    "custody.offline",
    "custody.verdicts",
    "custody.__main__",
]
# The project's data model (SQLModel tables, the database, the ledger's store): custody/ may
# hold it (DESIGN §2), it needs the [server] extra, and nothing in PURE may import it.
DATABASE = ["custody.db", "custody.models", "custody.ledger_store"]
FORBIDDEN = ["sqlalchemy", "sqlmodel", "alembic", "fastapi", "starlette", "minio", "httpx"]
FORBIDDEN += ["api", "storage", "cli", "bagit", "fpdf", "typer", "rich", "pydantic", "click"]
FORBIDDEN += DATABASE

# Every module of custody/ except the data model, found by walking the package, so that a
# new module is held to the rule without being listed here.
WALK = (
    "import custody, pkgutil\n"
    "names = sorted(m.name for m in pkgutil.walk_packages(custody.__path__, 'custody.'))\n"
)


def _imported_after(modules: str) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"{WALK}"
        f"for m in {modules}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found: list[str] = json.loads(out.stdout)
    return found


def test_pure_modules_import_no_web_database_or_storage_code() -> None:
    assert _imported_after(repr(PURE)) == []


def test_every_module_but_the_data_model_is_pure() -> None:
    assert _imported_after(f"[n for n in names if n not in {DATABASE!r}]") == []


def test_the_walk_finds_the_verifier_and_the_data_model() -> None:
    code = f"{WALK}print('\\n'.join(names))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names = set(out.stdout.split())
    assert {"custody.__main__", "custody.bundle", "custody.offline", *DATABASE} <= names
