"""``custody verify`` and ``custody fixity run`` against an insider who edits the table.

The attack of issue 9 through the real CLI and a real server: one byte of a stored object
is flipped (mode restored to 0444), and the row's digests and seal number are rewritten to
match. Both commands must exit 1 and say the table disagrees with the ledger.
"""

from __future__ import annotations

import hashlib
import json
import os

import blake3
from typer.testing import CliRunner

from cli.main import app as cli_app
from tests.api.test_verification_from_ledger import edit_row, flip_byte, object_path
from tests.cli.test_ledger_tamper import Live, live  # noqa: F401 - the live-server fixture


def test_attack_insider_rewrites_row_to_match_flipped_bytes(live: Live) -> None:  # noqa: F811
    env = {"CUSTODY_URL": live.url, "CUSTODY_TOKEN": live.technician.token}
    runner = CliRunner()
    with live.http(live.technician) as h:
        r = h.post("/api/v1/cases", json={"number": "INS-1", "title": "insider"})
        assert r.status_code == 201, r.text
        meta = {"case": "INS-1", "seal_no": "FC-1"}
        r = h.post(
            "/api/v1/evidence",
            files=[("metadata", (None, json.dumps(meta))), ("file", ("a.bin", os.urandom(9000)))],
        )
        assert r.status_code == 201, r.text
        ev = r.json()
    assert ev["seal_no"] == "FC-1"
    changed = flip_byte(object_path(live.ctx, ev), at=10)
    forged = {
        "blake3": blake3.blake3(changed).hexdigest(),
        "md5": hashlib.md5(changed).hexdigest(),
        "sha256": hashlib.sha256(changed).hexdigest(),
    }
    edit_row(live.ctx, ev["id"], digests=json.dumps(forged, sort_keys=True), seal_no="FC-2")

    result = runner.invoke(cli_app, ["verify", ev["id"]], env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert f"FAIL: sha256 recorded {ev['digests']['sha256']} recomputed {forged['sha256']}" in (
        result.output
    )
    assert "the evidence table disagrees with the ledger: digests" in result.output
    assert "the evidence table disagrees with the ledger: seal_no is 'FC-2'" in result.output

    result = runner.invoke(
        cli_app, ["fixity", "run", "--case", "INS-1", "--json"], env=env, catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert summary["failed"] == 1 and summary["results"][0]["result"] == "fail"
    assert any(
        "evidence table disagrees with the ledger" in f for f in summary["results"][0]["findings"]
    )
