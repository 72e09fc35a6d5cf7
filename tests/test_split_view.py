"""Split view: the operator forks its own database and signs two histories of one size.

The log's SQLite file is copied; each copy appends a different entry and signs a checkpoint
of the same size with the same key. A real witness process cosigns the first and refuses
the second (409, and it keeps the refused note); ``custody-verify ledger split-view`` on the
two signed notes prints the proof of misbehaviour and exits 1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.context import AppContext, build_context
from api.services.anchor import build_anchor
from api.services.checkpoints import cosigned_note, sign_checkpoint
from custody import ledger_store
from custody.ledger import Action, EntryDraft
from tests.conftest import make_settings
from tests.witness_proc import WitnessProcess, witness_init

pytestmark = pytest.mark.slow


def append(ctx: AppContext, what: str) -> None:
    with ctx.session() as session:
        ledger_store.append(
            session,
            EntryDraft(
                actor="operator",
                department="it",
                action=Action.ACCOUNT_CREATED,
                details={"account": what},
            ),
        )
        session.commit()


def test_split_view_is_refused_by_the_witness_and_proven_by_the_client(tmp_path: Path) -> None:
    honest = build_context(make_settings(tmp_path / "a"))
    append(honest, "first")
    honest.engine.dispose()  # the copy must hold everything committed (WAL checkpointed)
    shutil.copytree(tmp_path / "a", tmp_path / "b")

    key = honest.signing_key.verifier().to_text()
    witness_key = witness_init(tmp_path / "witness")
    witness = WitnessProcess(tmp_path / "witness", [key])
    try:
        setup = {"witnesses": f"{witness.url}={witness_key}"}
        one = build_context(make_settings(tmp_path / "a", **setup))
        two = build_context(make_settings(tmp_path / "b", **setup))
        append(one, "shown to the court")
        append(two, "shown to the defence")
        notes = []
        for ctx in (one, two):
            assert ctx.anchor is not None
            with ctx.session() as session:
                row = sign_checkpoint(ctx, session)
                session.commit()
            ctx.anchor.anchor(ctx, row, timestamp=False, force=True)
            with ctx.session() as session:
                notes.append((row, cosigned_note(session, row)))
        (first, first_note), (second, second_note) = notes
        assert first.size == second.size and first.root != second.root

        assert witness_key.split("+")[0] in first_note  # cosigned
        assert witness_key.split("+")[0] not in second_note  # refused
        assert two.anchor is not None
        state = next(iter(two.anchor.status.values()))
        assert state.failures == 1 and "split view" in (state.last_error or "")
        kept = list((tmp_path / "witness" / "refused").rglob("*.txt"))
        assert [p.read_text() for p in kept] == [second.note]

        a, b = tmp_path / "court.note", tmp_path / "defence.note"
        a.write_text(first_note)
        b.write_text(second.note)
        args = [sys.executable, "-m", "custody", "ledger", "split-view", str(a), str(b)]
        r = subprocess.run(
            [*args, "--trusted-key", key], capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 1, r.stdout + r.stderr
        assert "FAIL: split view — proof of misbehaviour" in r.stdout
        assert f"size {first.size} root" in r.stdout
        r = subprocess.run(
            [*args, "--trusted-key", key, "--json"], capture_output=True, text=True, timeout=120
        )
        value = json.loads(r.stdout)
        assert r.returncode == 1 and value["split_view"] is True
        assert {c["note"] for c in value["checkpoints"]} == {first_note, second.note}

        same = subprocess.run(
            [*args[:-1], str(a), "--trusted-key", key], capture_output=True, text=True, timeout=120
        )
        assert same.returncode == 0 and "no split view" in same.stdout
        for ctx in (one, two):
            ctx.engine.dispose()
    finally:
        witness.stop()


def test_anchor_cosigns_then_survives_its_witness_going_down(
    tmp_path: Path, database_url: str
) -> None:
    """On SQLite and PostgreSQL: cosignatures are stored and published; a witness that goes
    down is recorded and backed off, and the ledger keeps taking entries."""
    from custody.cosignature import WitnessKey, check_cosignatures

    probe = build_context(make_settings(tmp_path / "probe"))  # only to learn the key
    key_file = probe.settings.signing_key_path
    probe.engine.dispose()
    witness_key = witness_init(tmp_path / "witness")
    witness = WitnessProcess(tmp_path / "witness", [probe.signing_key.verifier().to_text()])
    settings = make_settings(
        tmp_path / "log",
        database_url=database_url,
        signing_key=key_file,
        witnesses=f"{witness.url}={witness_key}",
    )
    ctx = build_context(settings)
    try:
        anchor = build_anchor(ctx)
        append(ctx, "witnessed")
        anchor.run_once(ctx)
        with ctx.session() as session:
            row = sign_checkpoint(ctx, session)
            note = cosigned_note(session, row)
        _, results = check_cosignatures(note, [WitnessKey.from_text(witness_key)])
        assert results[0].status == "ok", note
        assert next(iter(anchor.readiness().values())).startswith("ok: cosigned size")
    finally:
        witness.stop()
    append(ctx, "recorded while the witness is down")
    anchor.run_once(ctx)
    (state,) = anchor.status.values()
    assert state.failures == 1 and state.next_try > 0
    assert "failing" in next(iter(anchor.readiness().values()))
    append(ctx, "and another")
    with ctx.session() as session:
        assert ledger_store.size(session) >= 4
    ctx.engine.dispose()
