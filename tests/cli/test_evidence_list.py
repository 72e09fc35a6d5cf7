"""``custody evidence list --case C`` (DESIGN §5) through the real CLI and server."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from tests.cli.served import Served
from tests.conftest import add_account


def _intake(served: Served, path: Path, case: str, seal: str) -> str:
    r = served.cli("intake", str(path), "--case", case, "--seal-no", seal, "--json")
    assert r.exit_code == 0, r.output
    return str(json.loads(r.stdout)["id"])


def test_evidence_list_shows_the_case_items_in_intake_order(served: Served, tmp_path: Path) -> None:
    served.create_case("LST-1")
    served.create_case("LST-2")
    ids = []
    for i, size in enumerate((1000, 2000)):
        path = tmp_path / f"item-{i}.bin"
        path.write_bytes(bytes([i]) * size)
        ids.append(_intake(served, path, "LST-1", f"FC-{i}"))
    other = tmp_path / "other.bin"
    other.write_bytes(b"other")
    _intake(served, other, "LST-2", "FC-9")

    result = served.cli("evidence", "list", "--case", "LST-1", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [ev["id"] for ev in items] == ids
    assert [(ev["original_filename"], ev["size"], ev["seal_no"]) for ev in items] == [
        ("item-0.bin", 1000, "FC-0"),
        ("item-1.bin", 2000, "FC-1"),
    ]
    assert {ev["case"] for ev in items} == {"LST-1"}

    table = served.cli("evidence", "list", "--case", "LST-1")
    assert table.exit_code == 0, table.output
    for ev in items:
        assert ev["id"] in table.stdout and ev["digests"]["sha256"] in table.stdout
    assert "other.bin" not in table.stdout

    # the listing is a recorded view of the case
    with served.ctx.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT canonical FROM ledger_entries WHERE case_number = 'LST-1'")
        ).all()
    views = [json.loads(bytes(r[0])) for r in rows]
    listed = [v for v in views if v["details"].get("what") == "evidence list"]
    assert len(listed) == 2 and listed[-1]["actor"] == served.technician.name


def test_evidence_list_of_an_unknown_or_hidden_case_exits_2(served: Served) -> None:
    result = served.cli("evidence", "list", "--case", "NOPE", "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["code"] == "unknown-case"
    served.create_case("LST-3")
    outsider = add_account(served.ctx, "sun.yu", role="technician", department="cyber")
    hidden = served.cli("evidence", "list", "--case", "LST-3", "--json", actor=outsider)
    assert hidden.exit_code == 2, hidden.output
    assert json.loads(hidden.stdout)["code"] == "unknown-case"
