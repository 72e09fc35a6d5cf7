"""Offline commands must not import the server stack (issue 15: start-up ≤ 0.2 s).

Not a timing test: it checks, in a fresh interpreter, which modules a command loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("fastapi", "sqlalchemy", "sqlmodel", "minio", "pyhanko", "typer", "httpx", "uvicorn")
RUNNER = """
import json, sys
entry, argv = sys.argv[1], sys.argv[2:]
sys.argv = [entry, *argv]
if entry == "custody":
    from cli.main import main
else:
    from custody.__main__ import main
try:
    main(argv) if entry != "custody" else main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in HEAVY)), file=sys.stderr)
"""


def loaded(entry: str, *argv: str) -> list[str]:
    """The heavy modules a fresh ``entry argv`` run imported (reported on stderr's last line)."""
    code = f"HEAVY = {HEAVY!r}\n{RUNNER}"
    proc = subprocess.run(
        [sys.executable, "-c", code, entry, *argv], capture_output=True, text=True, check=False
    )
    result: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("entry", "argv"),
    [
        ("custody", ("hash", "{file}")),
        ("custody", ("hash", "--algorithms", "blake3,sha256", "--json", "{file}")),
        ("custody-verify", ("--help",)),
        ("custody-verify", ("hash", "{file}")),
    ],
)
def test_offline_commands_import_no_server_stack(
    tmp_path: Path, entry: str, argv: tuple[str, ...]
) -> None:
    file = tmp_path / "f.bin"
    file.write_bytes(b"evidence")
    assert loaded(entry, *(a.format(file=file) for a in argv)) == []


@pytest.mark.parametrize("entry", ["custody", "custody-verify"])
def test_hashing_loads_no_checkpoint_timestamp_or_report_code(tmp_path: Path, entry: str) -> None:
    """Hashing needs digests only (SM3 comes from cryptography's hashes), not certificates,
    timestamps, reports or the offline checks."""
    file = tmp_path / "f.bin"
    file.write_bytes(b"evidence")
    code = (
        "import json, sys\n"
        f"sys.argv = [{entry!r}, 'hash', {str(file)!r}]\n"
        + (
            "from cli.main import main\n"
            if entry == "custody"
            else "from custody.__main__ import main as m\nmain = lambda: m(sys.argv[1:])\n"
        )
        + "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert "BLAKE3" in proc.stdout
    for heavy in (
        "custody.offline",
        "custody.checkpoint",
        "custody.timestamp",
        "custody.report",
        "cryptography.x509",
    ):
        assert heavy not in modules, heavy
