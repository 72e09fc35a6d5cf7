"""``custody ledger verify|checkpoint|consistency`` against a real server, and the attacks.

A real uvicorn server runs the app in a background thread on a free loopback port; the CLI
(``cli.main.app``) is driven through Typer's CliRunner with CUSTODY_URL / CUSTODY_TOKEN, so
every byte the verifier judges went over HTTP. Each attack test is named after the attack:
it alters the database behind the application's back (dropping the SQLite trigger that
would refuse it) and checks that the CLI exits 1 and names the first bad seq.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from typer.testing import CliRunner, Result

from api.app import create_app
from api.context import AppContext
from cli.main import app as cli_app
from custody.canonical import canonical_json
from custody.checkpoint import (
    Checkpoint,
    SigningKey,
    open_checkpoint,
    sign_checkpoint,
)
from custody.errors import ProofError
from custody.merkle import MemoryTree, leaf_hash, verify_inclusion
from tests.conftest import Actor

K = 7  # the entry the attacks go after: neither the first nor the last


@dataclass
class Live:
    url: str
    ctx: AppContext
    admin: Actor
    technician: Actor

    @property
    def key_text(self) -> str:
        return self.ctx.signing_key.verifier().to_text()

    def http(self, actor: Actor | None = None) -> httpx.Client:
        who = actor or self.admin
        return httpx.Client(base_url=self.url, headers=who.headers, timeout=30)

    def cli(self, *args: str) -> Result:
        env = {"CUSTODY_URL": self.url, "CUSTODY_TOKEN": self.admin.token}
        return CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)

    def entries(self) -> list[dict[str, Any]]:
        with self.http() as h:
            r = h.get("/api/v1/ledger/entries", params={"start": 0})
        r.raise_for_status()
        rows: list[dict[str, Any]] = r.json()
        return rows

    def checkpoint_note(self) -> str:
        with self.http() as h:
            r = h.get("/api/v1/ledger/checkpoint")
        r.raise_for_status()
        return r.text

    def sql(self, *statements: str, **params: Any) -> None:
        with self.ctx.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement), params)


def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    server.run(sockets=[sock])


@pytest.fixture
def live(ctx: AppContext, admin: Actor, technician: Actor) -> Iterator[Live]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app=create_app(context=ctx), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=_serve, args=(server, sock), name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not answer /healthz in 30s"
            time.sleep(0.05)
        yield Live(url=url, ctx=ctx, admin=admin, technician=technician)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the server thread did not stop"


def add_activity(live: Live, *, cases: int, intakes: int, prefix: str = "2026-XS") -> None:
    """Real ledger entries: cases created, evidence taken in and viewed, by a technician."""
    with live.http(live.technician) as h:
        numbers = []
        for n in range(cases):
            number = f"{prefix}-{n:04d}"
            r = h.post("/api/v1/cases", json={"number": number, "title": f"case {n}"})
            assert r.status_code == 201, r.text
            numbers.append(number)
        for n in range(intakes):
            data = os.urandom(1000 + n)
            files: list[tuple[str, tuple[str | None, bytes | str]]] = [
                ("metadata", (None, json.dumps({"case": numbers[n % len(numbers)]}))),
                ("file", (f"image-{n}.dd", data)),
            ]
            r = h.post("/api/v1/evidence", files=files)
            assert r.status_code == 201, r.text
            r = h.get(f"/api/v1/evidence/{r.json()['id']}", params={"purpose": "review"})
            assert r.status_code == 200, r.text


@pytest.fixture
def ledger(live: Live) -> Live:
    """About twenty entries: the bootstrap, 8 cases, 6 intakes and 6 views."""
    add_activity(live, cases=8, intakes=6)
    assert len(live.entries()) >= 20
    return live


def assert_fails_at(result: Result, seq: int) -> None:
    assert result.exit_code == 1, result.output
    assert f"first bad seq {seq}:" in result.output, result.output


def recanon(canonical: bytes, **changes: Any) -> bytes:
    value = json.loads(canonical)
    value.update(changes)
    return canonical_json(value)


def stored(live: Live, seq: int) -> tuple[bytes, str]:
    with live.ctx.engine.connect() as conn:
        row = conn.execute(
            text("SELECT canonical, entry_hash FROM ledger_entries WHERE seq = :s"), {"s": seq}
        ).one()
    return bytes(row[0]), row[1]


def write(path: Path, note: str) -> Path:
    path.write_text(note)
    return path


# --- happy paths -----------------------------------------------------------------------------


def test_verify_ok(ledger: Live) -> None:
    n = len(ledger.entries())
    result = ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text)
    assert result.exit_code == 0, result.output
    assert f"OK: {n} entries: every hash and prev link checks" in result.output
    assert f"OK: root matches the checkpoint signed by {ledger.ctx.signing_key.name}" in (
        result.output
    )
    as_json = ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text, "--json")
    assert as_json.exit_code == 0, as_json.output
    summary = json.loads(as_json.stdout)
    leaves = [bytes.fromhex(e["hash"]) for e in ledger.entries()]
    assert summary["ok"] is True and summary["size"] == n
    assert base64.b64decode(summary["root"]) == MemoryTree(leaves).root()


def test_verify_with_a_key_file(ledger: Live, tmp_path: Path) -> None:
    key_file = write(tmp_path / "ledger.pub", ledger.key_text + "\n")
    result = ledger.cli("ledger", "verify", "--trusted-key", str(key_file))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["verify", "checkpoint"])
def test_trusting_the_server_key_is_never_a_default(ledger: Live, command: str) -> None:
    """Without a pinned key nothing is trusted silently: exit 2, naming the two options."""
    refused = ledger.cli("ledger", command)
    assert refused.exit_code == 2, refused.output
    assert "--trusted-key is required" in refused.output
    assert "--trust-server-key-unsafe" in refused.output
    assert refused.stdout.strip() == ""  # no note, no verdict

    both = ledger.cli(
        "ledger", command, "--trusted-key", ledger.key_text, "--trust-server-key-unsafe"
    )
    assert both.exit_code == 2, both.output

    unsafe = ledger.cli("ledger", command, "--trust-server-key-unsafe")
    assert unsafe.exit_code == 0, unsafe.output
    key = ledger.ctx.signing_key.verifier()
    assert f"UNSAFE: trusting the key the server presents ({key.name}+{key.key_id.hex()})" in (
        unsafe.output
    )


def test_checkpoint_out_writes_a_note_that_verifies(ledger: Live, tmp_path: Path) -> None:
    n = len(ledger.entries())
    out = tmp_path / "cp.note"
    result = ledger.cli("ledger", "checkpoint", "--trusted-key", ledger.key_text, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"OK: checkpoint at size {n} written to {out}" in result.output
    cp = open_checkpoint(out.read_text(), [ledger.ctx.signing_key.verifier()])
    assert cp.origin == ledger.ctx.settings.ledger_origin
    assert cp.size == n
    assert cp.root == MemoryTree(bytes.fromhex(e["hash"]) for e in ledger.entries()).root()


def test_consistency_between_checkpoints_before_and_after_more_appends(
    ledger: Live, tmp_path: Path
) -> None:
    old = tmp_path / "old.note"
    new = tmp_path / "new.note"
    first = len(ledger.entries())
    assert (
        ledger.cli(
            "ledger", "checkpoint", "--trusted-key", ledger.key_text, "--out", str(old)
        ).exit_code
        == 0
    )
    add_activity(ledger, cases=3, intakes=2, prefix="2026-ZZ")
    second = len(ledger.entries())
    assert second > first
    assert (
        ledger.cli(
            "ledger", "checkpoint", "--trusted-key", ledger.key_text, "--out", str(new)
        ).exit_code
        == 0
    )
    key = ledger.key_text
    result = ledger.cli("ledger", "consistency", str(old), str(new), "--trusted-key", key)
    assert result.exit_code == 0, result.output
    assert f"OK: the ledger at size {second} extends the one at size {first}" in result.output
    # offline, with the proof saved from the API
    with ledger.http() as h:
        proof = h.get(
            "/api/v1/ledger/proofs/consistency", params={"first": first, "second": second}
        )
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proof.text)
    offline = ledger.cli(
        "ledger",
        "consistency",
        str(old),
        str(new),
        "--trusted-key",
        key,
        "--proof",
        str(proof_file),
    )
    assert offline.exit_code == 0, offline.output
    # the whole ledger also extends the old checkpoint
    verify = ledger.cli("ledger", "verify", "--trusted-key", key, "--checkpoint", str(old))
    assert verify.exit_code == 0, verify.output
    assert f"OK: the ledger extends the checkpoint at size {first}" in verify.output
    # and the same checkpoint twice is trivially consistent
    same = ledger.cli("ledger", "consistency", str(new), str(new), "--trusted-key", key)
    assert same.exit_code == 0, same.output


def test_consistency_needs_a_trusted_key(ledger: Live, tmp_path: Path) -> None:
    note = write(tmp_path / "cp.note", ledger.checkpoint_note())
    result = ledger.cli("ledger", "consistency", str(note), str(note))
    assert result.exit_code == 2, result.output


# --- attacks on the stored entries ---------------------------------------------------------


@pytest.mark.parametrize("also_hash_column", [False, True], ids=["canonical", "canonical+hash"])
def test_attack_ledger_row_edited_behind_triggers(ledger: Live, also_hash_column: bool) -> None:
    """Someone with database access drops the trigger and rewrites entry K's bytes."""
    assert ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text).exit_code == 0
    canonical, _ = stored(ledger, K)
    forged = recanon(canonical, actor="someone.else", details={"purpose": "nothing to see"})
    ledger.sql("DROP TRIGGER ledger_entries_no_update")
    ledger.sql("UPDATE ledger_entries SET canonical = :c WHERE seq = :k", c=forged, k=K)
    if also_hash_column:
        ledger.sql(
            "UPDATE ledger_entries SET entry_hash = :h WHERE seq = :k",
            h=leaf_hash(forged).hex(),
            k=K,
        )
    assert stored(ledger, K)[0] == forged
    result = ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text)
    assert_fails_at(result, K)
    as_json = ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text, "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and report["first_bad_seq"] == K


def test_attack_ledger_row_reencoded_behind_triggers(ledger: Live) -> None:
    """Same JSON value, different bytes: refused as non-canonical at K."""
    canonical, _ = stored(ledger, K)
    ledger.sql("DROP TRIGGER ledger_entries_no_update")
    ledger.sql(
        "UPDATE ledger_entries SET canonical = :c WHERE seq = :k",
        c=json.dumps(json.loads(canonical), indent=1).encode(),
        k=K,
    )
    assert_fails_at(ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text), K)


def test_attack_last_entry_edited(ledger: Live) -> None:
    """No successor's prev breaks here; only the signed root can tell."""
    last = len(ledger.entries()) - 1
    ledger.checkpoint_note()  # the server signs the honest size before the edit
    canonical, _ = stored(ledger, last)
    ledger.sql("DROP TRIGGER ledger_entries_no_update")
    ledger.sql(
        "UPDATE ledger_entries SET canonical = :c WHERE seq = :k",
        c=recanon(canonical, details={}),
        k=last,
    )
    assert_fails_at(ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text), last)


def test_attack_entry_deleted(ledger: Live) -> None:
    ledger.sql("DROP TRIGGER ledger_entries_no_delete")
    ledger.sql("DELETE FROM ledger_entries WHERE seq = :k", k=K)
    assert len(ledger.entries()) == 20
    assert_fails_at(ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text), K)


def test_attack_two_entries_swapped(ledger: Live) -> None:
    (a, ha), (b, hb) = stored(ledger, K), stored(ledger, K + 1)
    ledger.sql("DROP TRIGGER ledger_entries_no_update")
    ledger.sql(
        "UPDATE ledger_entries SET entry_hash = 'swap' WHERE seq = :k",
        "UPDATE ledger_entries SET canonical = :a, entry_hash = :ha WHERE seq = :k1",
        "UPDATE ledger_entries SET canonical = :b, entry_hash = :hb WHERE seq = :k",
        a=a,
        ha=ha,
        b=b,
        hb=hb,
        k=K,
        k1=K + 1,
    )
    assert stored(ledger, K) == (b, hb)
    assert_fails_at(ledger.cli("ledger", "verify", "--trusted-key", ledger.key_text), K)


def test_attack_full_rewrite_with_resigned_checkpoint(ledger: Live, tmp_path: Path) -> None:
    """The strongest insider: rewrite entry K, re-seal every later entry, recompute every
    Merkle node, wipe the stored checkpoints, and let the server sign the forged tree. The
    chain and the new root are perfect; only a checkpoint held from before can tell."""
    key = ledger.key_text
    old = tmp_path / "old.note"
    assert (
        ledger.cli(
            "ledger", "checkpoint", "--trusted-key", ledger.key_text, "--out", str(old)
        ).exit_code
        == 0
    )
    rows = ledger.entries()
    n = len(rows)
    forged: list[tuple[int, bytes]] = [(r["seq"], base64.b64decode(r["canonical"])) for r in rows]
    prev = json.loads(forged[K][1])["prev"]
    case_heads = {}  # a careful forger re-links each case's chain too
    for _, canonical in forged[:K]:
        if json.loads(canonical)["case"] is not None:
            case_heads[json.loads(canonical)["case"]] = leaf_hash(canonical).hex()
    for seq in range(K, n):
        value = json.loads(forged[seq][1])
        if seq == K:
            value["actor"] = "someone.else"
        value["prev"] = prev
        if value["case"] is not None and value["case_prev"] is not None:
            value["case_prev"] = case_heads[value["case"]]
        canonical = canonical_json(value)
        forged[seq] = (seq, canonical)
        prev = leaf_hash(canonical).hex()
        if value["case"] is not None:
            case_heads[value["case"]] = prev
    leaves = [leaf_hash(c) for _, c in forged]
    tree = MemoryTree(leaves)
    ledger.sql(
        "DROP TRIGGER ledger_entries_no_update",
        "DROP TRIGGER ledger_nodes_no_delete",
        "DROP TRIGGER ledger_checkpoints_no_delete",
        "DELETE FROM ledger_nodes",
        "DELETE FROM ledger_checkpoints",
    )
    with ledger.ctx.engine.begin() as conn:
        for seq, canonical in forged[K:]:
            conn.execute(
                text("UPDATE ledger_entries SET canonical = :c, entry_hash = :h WHERE seq = :s"),
                {"c": canonical, "h": leaf_hash(canonical).hex(), "s": seq},
            )
        level = 0
        while (1 << level) <= n:
            for idx in range(n >> level):
                conn.execute(
                    text("INSERT INTO ledger_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                    {"l": level, "i": idx, "h": tree.source(level, idx)},
                )
            level += 1
        conn.execute(text("UPDATE ledger_head SET last_hash = :h"), {"h": leaves[-1].hex()})
    new = write(tmp_path / "new.note", ledger.checkpoint_note())
    assert open_checkpoint(new.read_text(), [ledger.ctx.signing_key.verifier()]).root == (
        tree.root()
    )
    # without history the forgery is self-consistent ...
    assert ledger.cli("ledger", "verify", "--trusted-key", key).exit_code == 0
    # ... but not against the checkpoint the auditor kept
    result = ledger.cli("ledger", "verify", "--trusted-key", key, "--checkpoint", str(old))
    assert result.exit_code == 1, result.output
    assert "history was rewritten" in result.output
    result = ledger.cli("ledger", "consistency", str(old), str(new), "--trusted-key", key)
    assert result.exit_code == 1, result.output
    assert "fork" in result.output


# --- attacks on checkpoints --------------------------------------------------------------------


def test_attack_checkpoint_with_forged_root(ledger: Live, tmp_path: Path) -> None:
    key = ledger.key_text
    note = ledger.checkpoint_note()
    honest = open_checkpoint(note, [ledger.ctx.signing_key.verifier()])
    other_root = hashlib.sha256(b"a history that never happened").digest()
    honest_b64 = base64.b64encode(honest.root).decode()
    forged_b64 = base64.b64encode(other_root).decode()

    # 1. the root line altered under the log's real signature
    altered = write(tmp_path / "altered.note", note.replace(honest_b64, forged_b64))
    assert altered.read_text() != note
    for args in (
        ("ledger", "verify", "--trusted-key", key, "--checkpoint", str(altered)),
        ("ledger", "consistency", str(altered), str(altered), "--trusted-key", key),
    ):
        result = ledger.cli(*args)
        assert result.exit_code == 1, result.output
        assert "does not verify" in result.output

    # 2. re-signed with another key that claims the log's name
    impostor = SigningKey.generate(honest.origin)
    body = Checkpoint(origin=honest.origin, size=honest.size, root=other_root)
    resigned = write(tmp_path / "resigned.note", sign_checkpoint(body, impostor))
    result = ledger.cli("ledger", "verify", "--trusted-key", key, "--checkpoint", str(resigned))
    assert result.exit_code == 1, result.output
    assert "no signature by a trusted key" in result.output

    # 3. signed by the log's own key over another root: the log equivocated (a fork)
    small = Checkpoint(origin=honest.origin, size=10, root=other_root)
    forked = write(tmp_path / "forked.note", sign_checkpoint(small, ledger.ctx.signing_key))
    result = ledger.cli("ledger", "verify", "--trusted-key", key, "--checkpoint", str(forked))
    assert result.exit_code == 1, result.output
    assert "history was rewritten" in result.output
    current = write(tmp_path / "current.note", note)
    result = ledger.cli("ledger", "consistency", str(forked), str(current), "--trusted-key", key)
    assert result.exit_code == 1, result.output

    # 4. the server's own checkpoint, checked against a key it was not signed with
    stranger = SigningKey.generate(honest.origin).verifier().to_text()
    result = ledger.cli("ledger", "verify", "--trusted-key", stranger)
    assert result.exit_code == 1, result.output
    assert "no signature by a trusted key" in result.output


# --- attacks on proofs ---------------------------------------------------------------------


def test_attack_proof_for_wrong_index(ledger: Live, tmp_path: Path) -> None:
    entries = ledger.entries()
    n = len(entries)
    leaves = [bytes.fromhex(e["hash"]) for e in entries]
    cp = open_checkpoint(ledger.checkpoint_note(), [ledger.ctx.signing_key.verifier()])
    assert cp.size == n
    with ledger.http() as h:
        body = h.get("/api/v1/ledger/proofs/inclusion", params={"index": K, "size": n}).json()
    assert (body["leaf_index"], body["tree_size"]) == (K, n)
    proof = [base64.b64decode(x) for x in body["hashes"]]
    verify_inclusion(leaf_hash=leaves[K], index=K, size=n, proof=proof, root=cp.root)
    for j in (K - 1, K + 1, 0, n - 1):
        for leaf, index in ((leaves[j], j), (leaves[K], j), (leaves[j], K)):
            with pytest.raises(ProofError):
                verify_inclusion(leaf_hash=leaf, index=index, size=n, proof=proof, root=cp.root)

    # consistency: a tampered proof file must not convince the CLI
    key = ledger.key_text
    old = tmp_path / "old.note"
    new = tmp_path / "new.note"
    assert (
        ledger.cli(
            "ledger", "checkpoint", "--trusted-key", ledger.key_text, "--out", str(old)
        ).exit_code
        == 0
    )
    add_activity(ledger, cases=2, intakes=1, prefix="2026-YY")
    assert (
        ledger.cli(
            "ledger", "checkpoint", "--trusted-key", ledger.key_text, "--out", str(new)
        ).exit_code
        == 0
    )
    second = open_checkpoint(new.read_text(), [ledger.ctx.signing_key.verifier()]).size
    with ledger.http() as h:
        good = h.get(
            "/api/v1/ledger/proofs/consistency", params={"first": n, "second": second}
        ).json()
        other = h.get(
            "/api/v1/ledger/proofs/consistency", params={"first": n - 1, "second": second}
        ).json()
    raw = [base64.b64decode(x) for x in good["hashes"]]
    flipped = [*raw[:-1], bytes([raw[-1][0] ^ 0x80]) + raw[-1][1:]]
    tampered: dict[str, dict[str, Any]] = {
        "flipped-byte": {**good, "hashes": [base64.b64encode(x).decode() for x in flipped]},
        "dropped-hash": {**good, "hashes": good["hashes"][:-1]},
        "extra-hash": {**good, "hashes": [*good["hashes"], good["hashes"][0]]},
        "reordered": {**good, "hashes": list(reversed(good["hashes"]))},
        "other-sizes-relabelled": {**other, "first": n},
        "other-sizes": other,
        "short-hash": {**good, "hashes": [base64.b64encode(raw[0][:31]).decode()]},
    }
    ok_file = tmp_path / "good.json"
    ok_file.write_text(json.dumps(good))
    args = ("ledger", "consistency", str(old), str(new), "--trusted-key", key, "--proof")
    result = ledger.cli(*args, str(ok_file))
    assert result.exit_code == 0, result.output
    for name, bad in tampered.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bad))
        result = ledger.cli(*args, str(path))
        assert result.exit_code == 1, (name, result.output)
