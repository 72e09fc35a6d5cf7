"""Key rotation over HTTP and the CLI: admin only, signed by the old key, followed offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx

from custody.bundle import verify_bundle
from custody.checkpoint import VerifierKey, open_checkpoint
from custody.errors import CheckpointError
from tests.cli.served import Served


def intake(served: Served, case: str, data: bytes) -> None:
    with served.http() as h:
        r = h.post(
            "/api/v1/evidence",
            files=[("metadata", (None, json.dumps({"case": case}))), ("file", ("x.bin", data))],
        )
    assert r.status_code == 201, r.text


def test_only_keys_manage_may_rotate(served: Served) -> None:
    with served.http() as h:
        r = h.post("/api/v1/ledger/key/rotations", json={"reason": "routine"})
    assert r.status_code == 403


def test_a_rotated_key_verifies_from_the_old_trusted_key(served: Served, tmp_path: Path) -> None:
    old = served.ctx.signing_key.verifier()
    served.create_case("2026-ROT-1")
    intake(served, "2026-ROT-1", b"before the rotation")
    r = served.cli(
        "ledger", "rotate-key", "--reason", "annual rotation", "--json", actor=served.admin
    )
    assert r.exit_code == 0, r.output
    done = json.loads(r.output)
    new = VerifierKey.from_text(done["new_key"])
    assert done["old_key"] == old.to_text() and new != old
    # the checkpoint that includes the rotation is the old key's last; later ones the new key's
    assert open_checkpoint(done["checkpoint"], [old]).size == done["seq"] + 1
    key_file = served.ctx.settings.data_dir / "signing-keys" / f"{new.key_id.hex()}.key"
    assert key_file.stat().st_mode & 0o777 == 0o600

    intake(served, "2026-ROT-1", b"after the rotation")
    with served.http() as h:
        note = h.get("/api/v1/ledger/checkpoint").text
        assert h.get("/api/v1/ledger/key").text.strip() == new.to_text()
        earlier = h.get(f"/api/v1/ledger/checkpoints/{done['seq'] + 1}").text
    assert open_checkpoint(note, [new]).size > done["seq"] + 1
    try:
        open_checkpoint(note, [old])
        raise AssertionError("a checkpoint after the rotation verified under the old key")
    except CheckpointError:
        pass
    assert open_checkpoint(earlier, [old]).size == done["seq"] + 1  # old ones still verify

    bundle = tmp_path / "bundle"
    r = served.cli("export", "2026-ROT-1", "--out", str(bundle), "--purpose", "court")
    assert r.exit_code == 0, r.output
    report = verify_bundle(bundle, trusted_key=old)
    assert report.ok, [c.message for c in report.failures]
    messages = " ".join(c.message for c in report.checks)
    assert "the key the trusted key" in messages and "rotated to" in messages
    assert f"at entry {done['seq']} the key" in messages

    # the same bundle without its rotation entry does not verify from the old key
    cut = tmp_path / "cut"
    shutil.copytree(bundle, cut)
    shutil.rmtree(cut / "data" / "ledger" / "rotations")
    assert not verify_bundle(cut, trusted_key=old).ok
    assert verify_bundle(bundle, trusted_key=new).ok is False  # the new key alone: no chain back
    with httpx.Client(base_url=served.url) as h:
        assert h.post("/api/v1/ledger/key/rotations", json={"reason": "x"}).status_code == 401
