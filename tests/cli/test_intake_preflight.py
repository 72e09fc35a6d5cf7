"""Issue 10 finding 13: ``custody intake`` checks the case and the permission before a byte.

A large (sparse) file is taken in through the real CLI against the real server; a
pass-through ASGI recorder in front of the app counts the requests and body bytes the
server received. A refused intake must come back with its error while the intake endpoint
saw no request at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.served import Served
from tests.conftest import add_account

LARGE = 256 * 1024 * 1024


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    """256 MiB that takes no disk space (a sparse file); reading it all would take seconds."""
    path = tmp_path / "disk.img"
    with path.open("wb") as f:
        f.truncate(LARGE)
    return path


def test_intake_of_a_large_file_into_an_unknown_case_sends_no_byte(
    served: Served, large_file: Path
) -> None:
    result = served.cli("intake", str(large_file), "--case", "NO-SUCH-CASE", "--json")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["code"] == "unknown-case" and "NO-SUCH-CASE" in error["error"]
    assert ("GET", "/api/v1/cases/NO-SUCH-CASE") in served.recorder.requests
    assert served.uploads() == 0 and served.upload_bytes() == 0


def test_intake_with_prehash_into_an_unknown_case_sends_no_byte(
    served: Served, large_file: Path
) -> None:
    """--prehash reads the file before the upload; the check comes before that too."""
    result = served.cli("intake", str(large_file), "--case", "NO-SUCH-CASE", "--prehash")
    assert result.exit_code == 2, result.output
    assert served.uploads() == 0


def test_intake_into_another_departments_case_sends_no_byte(
    served: Served, large_file: Path
) -> None:
    """The case is hidden from an outsider: the same 404 as an unknown case."""
    served.create_case("FOR-1")
    outsider = add_account(served.ctx, "zhao.min", role="technician", department="cyber")
    result = served.cli("intake", str(large_file), "--case", "FOR-1", "--json", actor=outsider)
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["code"] == "unknown-case"
    assert served.uploads() == 0


def test_intake_by_a_role_that_may_not_take_in_sends_no_byte(
    served: Served, large_file: Path
) -> None:
    """An investigator sees their department's case but may not add evidence: exit 4."""
    served.create_case("FOR-2")
    investigator = add_account(served.ctx, "qian.li", role="investigator", department="forensics")
    result = served.cli("intake", str(large_file), "--case", "FOR-2", actor=investigator)
    assert result.exit_code == 4, result.output
    assert "may not evidence.intake" in result.stderr and "nothing was uploaded" in result.stderr
    assert result.stdout == ""
    assert served.uploads() == 0 and served.upload_bytes() == 0


def test_allowed_intake_still_sends_the_file(served: Served, tmp_path: Path) -> None:
    served.create_case("FOR-3")
    image = tmp_path / "small.img"
    image.write_bytes(b"\x5a" * 70_000)
    result = served.cli("intake", str(image), "--case", "FOR-3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["size"] == 70_000
    assert served.uploads() == 1 and served.upload_bytes() == 70_000
