"""Deciding a verification from values (pure): the INTAKE entry is the reference."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import blake3
import pytest

from custody.canonical import canonical_json
from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
from custody.errors import CheckpointError, LedgerIntegrityError
from custody.ledger import GENESIS_PREV, Action, EntryDraft, MemoryLedger, SealedEntry, rfc3339
from custody.merkle import MemoryTree
from custody.verification import (
    ContentReading,
    Requester,
    StoredEntry,
    StoredLock,
    decide_verification,
)

ORIGIN = "test.custody.example/ledger"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
UNTIL = T0 + timedelta(days=3650)
DATA = b"seized phone image" * 1000
DIGESTS = {"blake3": blake3.blake3(DATA).hexdigest(), "sha256": hashlib.sha256(DATA).hexdigest()}
KEY = SigningKey.generate(ORIGIN)
REQUESTER = Requester(
    time=T0 + timedelta(days=1),
    account="wang.fang",
    department="检察院",
    case_number="C-1",
    case_title="t",
    case_classification="internal",
)


def ledger() -> list[SealedEntry]:
    led = MemoryLedger()
    led.append(
        EntryDraft(actor="li", department="f", action=Action.CASE_CREATED, case="C-1"), time=T0
    )
    led.append(
        EntryDraft(
            actor="li",
            department="f",
            action=Action.INTAKE,
            case="C-1",
            evidence="ev-1",
            details={
                "filename": "phone.E01",
                "content_type": "application/octet-stream",
                "description": "",
                "media": {},
                "seal_no": "FC-1",
                "size": len(DATA),
                "digests": DIGESTS,
                "declared_digests": {},
                "object_key": "objects/x",
                "object_version": None,
                "storage": "local",
                "retention_mode": "LOCAL-WORM",
                "retention_until": rfc3339(UNTIL),
            },
        ),
        time=T0,
    )
    led.append(
        EntryDraft(actor="wang", department="p", action=Action.VIEW, case="C-1", evidence="ev-1"),
        time=T0,
    )
    return led.entries


def stored(entries: list[SealedEntry], canonical: dict[int, bytes] | None = None):  # type: ignore[no-untyped-def]
    tree = MemoryTree(e.hash for e in entries)
    note = sign_checkpoint(Checkpoint(origin=ORIGIN, size=len(entries), root=tree.root()), KEY)
    out = []
    for e in entries:
        if e.value()["evidence"] != "ev-1":
            continue
        out.append(
            StoredEntry(
                seq=e.seq,
                canonical=(canonical or {}).get(e.seq, e.canonical),
                expected_prev=entries[e.seq - 1].hash_hex if e.seq else GENESIS_PREV,
                proof=tree.inclusion_proof(e.seq, len(entries)),
            )
        )
    return out, note


LOCK = StoredLock(
    mode="LOCAL-WORM",
    retain_until=UNTIL,
    legal_hold=False,
    version_id=None,
    latest_version_id=None,
    versions=1,
)
ROW = {"seal_no": "FC-1", "digests": DIGESTS, "size": len(DATA), "intake_seq": 1}


def decide(**changes: object):  # type: ignore[no-untyped-def]
    entries, note = stored(ledger())
    args: dict[str, object] = {
        "requester": REQUESTER,
        "evidence_id": "ev-1",
        "entries": entries,
        "checkpoint_note": note,
        "verifier": KEY.verifier(),
        "content": ContentReading(size=len(DATA), digests=DIGESTS),
        "lock": LOCK,
        "table_row": ROW,
    }
    args.update(changes)
    return decide_verification(**args)  # type: ignore[arg-type]


def test_an_intact_item_passes_with_the_intake_entry_values() -> None:
    report = decide()
    assert report.result == "pass", report.findings
    assert report.seal_no == "FC-1" and report.size_recorded == len(DATA)
    assert [e.action for e in report.custody] == ["evidence.intake", "evidence.view"]
    assert report.ledger.tree_size == 3


def test_changed_content_is_compared_with_the_intake_entry() -> None:
    other = {"blake3": "0" * 64, "sha256": "1" * 64}
    report = decide(content=ContentReading(size=len(DATA), digests=other))
    assert report.result == "fail"
    assert (
        "content: sha256 is now " + "1" * 64 + f", recorded {DIGESTS['sha256']} in INTAKE"
        in (report.findings[1])
    )


def test_a_table_that_disagrees_is_a_finding_even_when_content_matches() -> None:
    report = decide(table_row={**ROW, "seal_no": "FC-9", "digests": {"sha256": "x"}})
    assert report.result == "fail"
    assert report.findings == [
        "the evidence table disagrees with the ledger: seal_no is 'FC-9' in the table but "
        "'FC-1' in INTAKE entry 1",
        "the evidence table disagrees with the ledger: digests is {'sha256': 'x'} in the table "
        f"but {DIGESTS!r} in INTAKE entry 1",
    ]


def test_an_intake_entry_edited_in_the_database_is_not_trusted() -> None:
    entries = ledger()
    value = json.loads(entries[1].canonical)
    value["details"]["seal_no"] = "FC-EDITED"
    entries_stored, note = stored(entries, {1: canonical_json(value)})
    report = decide(entries=entries_stored, checkpoint_note=note)
    assert report.result == "fail"
    assert any(
        "INTAKE entry 1 is not proven against the signed checkpoint" in f for f in report.findings
    )
    assert any("entry 1 does not match the signed checkpoint" in f for f in report.findings)


def test_a_shortened_lock_and_a_missing_object_are_findings() -> None:
    short = StoredLock(**{**LOCK.__dict__, "retain_until": T0 + timedelta(days=1)})
    report = decide(lock=short)
    assert any("it was shortened or removed" in f for f in report.findings)
    gone = decide(lock=None, content=ContentReading(size=None, problem="object missing"))
    assert "content: object missing" in gone.findings
    assert any("pinned object version is missing" in f for f in gone.findings)


def test_no_intake_entry_and_a_foreign_checkpoint_are_refused() -> None:
    entries, _ = stored(ledger())
    with pytest.raises(LedgerIntegrityError, match="no INTAKE entry"):
        decide(entries=[e for e in entries if e.seq != 1])
    with pytest.raises(CheckpointError, match="not by the trusted key"):
        decide(verifier=SigningKey.generate(ORIGIN).verifier())
