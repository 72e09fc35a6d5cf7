"""Ledger entries and the hash chain (pure): encoding, hashing, and naming the first bad seq.

A note on what the chain alone can say. The attacks below go through
:func:`custody.log_audit.audit_log` against a checkpoint signed over exactly the entries
presented (:func:`audit_as_signed`): the root then matches whatever is there, so only the
chain can object, as it must when a signer was careless or complicit. When entry k is edited
in place (still canonical, same seq, same prev) entry k itself looks fine and the first link
that fails is entry k+1's ``prev``, so the chain names **k+1**; an edit of the *last* entry
breaks no link at all. Naming k (and catching the last entry) takes an honest signed root:
see tests/custody/test_log_audit.py, where the bisection over consistency proofs does it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from custody.canonical import canonical_json
from custody.checkpoint import Checkpoint
from custody.errors import InputError, LedgerIntegrityError
from custody.ledger import (
    ENTRY_FIELDS,
    GENESIS_PREV,
    Action,
    EntryDraft,
    MemoryLedger,
    SealedEntry,
    check_entry,
    rfc3339,
    seal_entry,
)
from custody.log_audit import audit_log
from custody.merkle import MemoryTree, leaf_hash

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
N = 9
ORIGIN = "test.custody.example/ledger"


def draft(i: int) -> EntryDraft:
    return EntryDraft(
        actor=f"tech.{i % 3}",
        department="forensics",
        action=Action.CASE_CREATED if i == 0 else Action.VIEW if i % 2 else Action.INTAKE,
        case="2026-XS-0117",
        evidence=f"ev-{i}",
        details={"purpose": "庭审质证", "i": i},
    )


def make_chain(n: int = N) -> list[SealedEntry]:
    ledger = MemoryLedger()
    for i in range(n):
        ledger.append(draft(i), time=T0 + timedelta(seconds=i))
    return ledger.entries


def pairs(chain: list[SealedEntry]) -> list[tuple[int, bytes]]:
    return [(e.seq, e.canonical) for e in chain]


def recanon(canonical: bytes, **changes: object) -> bytes:
    """The entry with some fields changed, re-encoded canonically (a careful forger)."""
    value = json.loads(canonical)
    value.update(changes)
    return canonical_json(value)


def reference_jcs(value: object) -> bytes:
    """RFC 8785 for the values entries hold (strings, ints, null, objects): sorted keys, no
    whitespace, UTF-8 without \\u escapes of printable text. Independent of rfc8785."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_over(entries: list[tuple[int, bytes]]) -> Checkpoint:
    """A checkpoint whose root is that of exactly these entries, whatever they are."""
    tree = MemoryTree(leaf_hash(canonical) for _, canonical in entries)
    return Checkpoint(origin=ORIGIN, size=len(entries), root=tree.root())


def audit_as_signed(entries: list[tuple[int, bytes]]) -> list[bytes]:
    """Audit ``entries`` against a checkpoint over themselves: only the chain can object."""
    return list(audit_log(entries, signed_over(entries)).leaves)


def first_bad(entries: list[tuple[int, bytes]]) -> int | None:
    with pytest.raises(LedgerIntegrityError) as info:
        audit_as_signed(entries)
    return info.value.seq


# --- encoding and hashing ----------------------------------------------------------------


def test_seal_entry_golden_bytes() -> None:
    sealed = seal_entry(
        EntryDraft(
            actor="li.wei",
            department="forensics",
            action=Action.INTAKE,
            case="2026-XS-0117",
            evidence="e1",
            details={"seal_no": "封-001", "b": [1, None], "a": {"z": True}},
        ),
        seq=0,
        prev=GENESIS_PREV,
        case_prev="ab" * 32,
        time=datetime(2026, 3, 1, 16, 30, 0, 123, tzinfo=timezone(timedelta(hours=8))),
    )
    expected = (
        '{"action":"evidence.intake","actor":"li.wei","case":"2026-XS-0117",'
        '"case_prev":"' + "ab" * 32 + '","department":"forensics",'
        '"details":{"a":{"z":true},"b":[1,null],"seal_no":"封-001"},'
        '"evidence":"e1","prev":"' + "0" * 64 + '","seq":0,"time":"2026-03-01T08:30:00.000123Z"}'
    ).encode()
    assert sealed.canonical == expected
    assert sealed.seq == 0


def test_seal_entry_carries_every_field_canonically() -> None:
    assert set(ENTRY_FIELDS) == {
        "seq",
        "time",
        "actor",
        "department",
        "action",
        "case",
        "evidence",
        "details",
        "prev",
        "case_prev",
    }
    chain = make_chain()
    for i, e in enumerate(chain):
        value = e.value()
        assert list(value) == sorted(ENTRY_FIELDS)  # all fields, keys in RFC 8785 order
        assert value["seq"] == i
        assert value["time"] == f"2026-03-01T08:30:0{i}.000000Z"  # T0 + i seconds, N < 10
        assert value["actor"] == f"tech.{i % 3}"
        assert value["department"] == "forensics"
        expected_action = "evidence.view" if i % 2 else "evidence.intake"
        assert value["action"] == ("case.created" if i == 0 else expected_action)
        assert value["case_prev"] == (chain[i - 1].hash_hex if i else None)
        assert value["case"] == "2026-XS-0117"
        assert value["evidence"] == f"ev-{i}"
        assert value["details"] == {"purpose": "庭审质证", "i": i}
        assert e.canonical == reference_jcs(value)
        assert b"\\u" not in e.canonical  # UTF-8, not escaped
        assert "庭审质证".encode() in e.canonical


def test_case_and_evidence_default_to_null() -> None:
    sealed = seal_entry(
        EntryDraft(actor="system", department="system", action=Action.ACCOUNT_CREATED),
        seq=0,
        prev=GENESIS_PREV,
        case_prev=None,
        time=T0,
    )
    value = sealed.value()
    assert value["case"] is None and value["evidence"] is None and value["details"] == {}
    assert value["case_prev"] is None
    assert b'"case":null' in sealed.canonical


def test_hash_is_sha256_of_zero_byte_and_canonical_bytes() -> None:
    for e in make_chain():
        assert e.hash == hashlib.sha256(b"\x00" + e.canonical).digest()
        assert e.hash_hex == hashlib.sha256(b"\x00" + e.canonical).hexdigest()
        assert e.hash != hashlib.sha256(e.canonical).digest()


def test_prev_links() -> None:
    chain = make_chain()
    assert chain[0].value()["prev"] == "0" * 64 == GENESIS_PREV
    for before, after in itertools.pairwise(chain):
        assert after.value()["prev"] == before.hash_hex


def test_rfc3339_is_utc_with_microseconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-5)))
    assert rfc3339(moment) == "2026-01-02T08:04:05.000006Z"


def test_action_values_are_stable_strings() -> None:
    assert str(Action.INTAKE) == "evidence.intake"
    sealed = seal_entry(draft(0), seq=0, prev=GENESIS_PREV, case_prev=None, time=T0)
    assert sealed.value()["action"] == "case.created"
    custom = EntryDraft(actor="a", department="d", action="custom.thing")
    assert seal_entry(custom, seq=0, prev=GENESIS_PREV, case_prev=None, time=T0).value()[
        "action"
    ] == ("custom.thing")


# --- the chain, through the audit -------------------------------------------------------


def test_audit_accepts_a_good_chain() -> None:
    chain = make_chain()
    assert audit_as_signed(pairs(chain)) == [e.hash for e in chain]
    assert audit_as_signed([]) == []


def test_check_entry_checks_an_entry_from_a_known_prev() -> None:
    chain = make_chain()
    assert check_entry(chain[4].canonical, expected_seq=4, expected_prev=chain[3].hash_hex) == (
        chain[4].hash
    )
    with pytest.raises(LedgerIntegrityError) as info:
        check_entry(chain[4].canonical, expected_seq=4, expected_prev=chain[2].hash_hex)
    assert info.value.seq == 4
    assert "chain is broken" in info.value.message


@pytest.mark.parametrize("k", [0, 3, N - 2])
def test_edited_entry_breaks_at_its_successor(k: int) -> None:
    """Documented: the chain names k+1, the first link that no longer holds (see module doc)."""
    entries = pairs(make_chain())
    entries[k] = (k, recanon(entries[k][1], actor="someone.else"))
    check_entry(entries[k][1], expected_seq=k, expected_prev=json.loads(entries[k][1])["prev"])
    with pytest.raises(LedgerIntegrityError) as info:
        audit_as_signed(entries)
    assert info.value.seq == k + 1
    assert "chain is broken" in info.value.message


def test_edited_last_entry_is_invisible_to_the_chain_alone() -> None:
    """Why checkpoints exist: an edit of the newest entry breaks no link."""
    chain = make_chain()
    entries = pairs(chain)
    entries[-1] = (N - 1, recanon(entries[-1][1], details={"purpose": "forged"}))
    hashes = audit_as_signed(entries)
    assert hashes[:-1] == [e.hash for e in chain[:-1]]
    assert hashes[-1] != chain[-1].hash


def test_edit_that_also_fixes_the_successor_prev_moves_the_break_on() -> None:
    entries = pairs(make_chain())
    edited = recanon(entries[2][1], actor="forger")
    entries[2] = (2, edited)
    entries[3] = (3, recanon(entries[3][1], prev=hashlib.sha256(b"\x00" + edited).hexdigest()))
    assert first_bad(entries) == 4


@pytest.mark.parametrize("k", [0, 4, N - 1])
def test_deleted_entry(k: int) -> None:
    entries = pairs(make_chain())
    del entries[k]
    if k == N - 1:
        audit_as_signed(entries)  # dropping the tail is a shorter, valid chain
        with pytest.raises(LedgerIntegrityError) as info:  # which the real checkpoint catches
            audit_log(entries, signed_over(pairs(make_chain())))
        assert info.value.seq == N - 1
        assert "entries were deleted" in info.value.message
        return
    with pytest.raises(LedgerIntegrityError) as info:
        audit_as_signed(entries)
    assert info.value.seq == k
    assert "missing or out of order" in info.value.message


def test_deleted_entry_with_renumbered_positions() -> None:
    """A forger who renumbers the (seq, bytes) pairs still trips over the seq inside the bytes."""
    entries = pairs(make_chain())
    del entries[4]
    renumbered = [(i, c) for i, (_, c) in enumerate(entries)]
    assert first_bad(renumbered) == 4


@pytest.mark.parametrize("k", [0, 3, N - 2])
def test_two_swapped_entries(k: int) -> None:
    entries = pairs(make_chain())
    entries[k], entries[k + 1] = entries[k + 1], entries[k]
    assert first_bad(entries) == k
    # the same bytes swapped under unchanged seq numbers (rows whose payloads were exchanged)
    entries = pairs(make_chain())
    (sa, ca), (sb, cb) = entries[k], entries[k + 1]
    entries[k], entries[k + 1] = (sa, cb), (sb, ca)
    with pytest.raises(LedgerIntegrityError) as info:
        audit_as_signed(entries)
    assert info.value.seq == k
    assert f"carries seq {k + 1}" in info.value.message


@pytest.mark.parametrize(
    "reencode",
    [
        pytest.param(lambda v: json.dumps(v, ensure_ascii=False).encode(), id="spaces"),
        pytest.param(lambda v: json.dumps(v, indent=2, ensure_ascii=False).encode(), id="indent"),
        pytest.param(
            lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")).encode(),
            id="ascii-escapes",
        ),
        pytest.param(
            lambda v: json.dumps(dict(reversed(v.items())), separators=(",", ":")).encode(),
            id="key-order",
        ),
        pytest.param(lambda v: reference_jcs(v) + b"\n", id="trailing-newline"),
    ],
)
def test_non_canonical_reencoding(reencode: object) -> None:
    chain = make_chain()
    entries = pairs(chain)
    k = 5
    value = json.loads(entries[k][1])
    other = reencode(value)  # type: ignore[operator]
    assert json.loads(other) == value and other != entries[k][1]
    entries[k] = (k, other)
    with pytest.raises(LedgerIntegrityError) as info:
        audit_as_signed(entries)
    assert info.value.seq == k
    assert "canonical" in info.value.message


@pytest.mark.parametrize("missing", ENTRY_FIELDS)
def test_missing_field(missing: str) -> None:
    entries = pairs(make_chain())
    k = 2
    value = json.loads(entries[k][1])
    del value[missing]
    entries[k] = (k, canonical_json(value))
    with pytest.raises(LedgerIntegrityError) as info:
        audit_as_signed(entries)
    assert info.value.seq == k
    assert f"lacks field(s) {missing}" in info.value.message


@pytest.mark.parametrize("garbage", [b"", b"not json", b"\xff\xfe", b"[1,2]", b'"x"'], ids=repr)
def test_garbage_bytes(garbage: bytes) -> None:
    entries = pairs(make_chain())
    entries[6] = (6, garbage)
    assert first_bad(entries) == 6


def test_genesis_prev_must_be_zeros() -> None:
    chain = make_chain(3)
    entries = pairs(chain)
    entries[0] = (0, recanon(entries[0][1], prev="f" * 64))
    assert first_bad(entries) == 0


def test_chain_not_starting_at_zero_is_refused() -> None:
    entries = pairs(make_chain())[1:]
    assert first_bad(entries) == 0


def test_first_of_several_problems_is_named() -> None:
    entries = pairs(make_chain())
    entries[7] = (7, b"junk")
    entries[3] = (3, recanon(entries[3][1], prev="1" * 64))
    assert first_bad(entries) == 3


# --- the per-case chain's rule -------------------------------------------------------------


def test_only_case_created_may_start_a_case() -> None:
    view = EntryDraft(actor="a", department="d", action=Action.VIEW, case="C-1")
    with pytest.raises(InputError, match=r"no case\.created entry"):
        seal_entry(view, seq=0, prev=GENESIS_PREV, case_prev=None, time=T0)
    created = EntryDraft(actor="a", department="d", action=Action.CASE_CREATED, case="C-1")
    with pytest.raises(InputError, match="cannot be created again"):
        seal_entry(created, seq=1, prev=GENESIS_PREV, case_prev="ab" * 32, time=T0)
    loose = EntryDraft(actor="a", department="d", action=Action.ACCOUNT_CREATED)
    with pytest.raises(InputError, match="names no case"):
        seal_entry(loose, seq=0, prev=GENESIS_PREV, case_prev="ab" * 32, time=T0)


def test_memory_ledger_links_each_case_separately() -> None:
    ledger = MemoryLedger()
    for action, case in [
        (Action.CASE_CREATED, "A"),
        (Action.CASE_CREATED, "B"),
        (Action.VIEW, "A"),
        (Action.ACCOUNT_CREATED, None),
        (Action.VIEW, "B"),
    ]:
        ledger.append(EntryDraft(actor="a", department="d", action=action, case=case), time=T0)
    e = ledger.entries
    assert [x.value()["case_prev"] for x in e] == [None, None, e[0].hash_hex, None, e[1].hash_hex]
    assert [x.value()["prev"] for x in e[1:]] == [x.hash_hex for x in e[:-1]]
