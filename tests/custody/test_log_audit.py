"""Client-side audit of the whole ledger (pure): entries + signed checkpoint + honest proofs.

The consistency ``probe`` stands for the server: it answers from a MemoryTree of the
ORIGINAL leaves, as an honest server's stored Merkle nodes would after someone altered
entry rows behind its back. The checkpoints are real signed notes, opened with the
verifier key, so the audit sees exactly what ``custody ledger verify`` sees.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from custody.canonical import canonical_json
from custody.checkpoint import Checkpoint, SigningKey, open_checkpoint, sign_checkpoint
from custody.errors import LedgerIntegrityError, ProofError
from custody.ledger import Action, EntryDraft, MemoryLedger, SealedEntry
from custody.log_audit import audit_log, check_consistency
from custody.merkle import EMPTY_ROOT, MemoryTree, verify_inclusion

ORIGIN = "test.custody.example/ledger"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
N = 13  # not a power of two: the right edge of the tree is ragged


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate(ORIGIN)


def draft(i: int, actor: str = "li.wei") -> EntryDraft:
    return EntryDraft(
        actor=actor,
        department="forensics",
        action=Action.CASE_CREATED if i == 0 else Action.VIEW,
        case="2026-XS-0117",
        evidence=f"ev-{i % 4}",
        details={"i": i},
    )


def build(actors: dict[int, str] | None = None) -> list[SealedEntry]:
    ledger = MemoryLedger()
    for i in range(N):
        ledger.append(draft(i, (actors or {}).get(i, "li.wei")), time=T0 + timedelta(minutes=i))
    return ledger.entries


@pytest.fixture(scope="module")
def chain() -> list[SealedEntry]:
    return build()


@pytest.fixture(scope="module")
def tree(chain: list[SealedEntry]) -> MemoryTree:
    return MemoryTree(e.hash for e in chain)


def signed(key: SigningKey, size: int, root: bytes, origin: str = ORIGIN) -> Checkpoint:
    """Sign, then open with the verifier key: a checkpoint as a client holds it."""
    note = sign_checkpoint(Checkpoint(origin=origin, size=size, root=root), key)
    return open_checkpoint(note, [key.verifier()])


@pytest.fixture(scope="module")
def checkpoint(key: SigningKey, tree: MemoryTree) -> Checkpoint:
    return signed(key, N, tree.root())


def honest_probe(tree: MemoryTree, size: int) -> Callable[[int], Sequence[bytes]]:
    calls: list[int] = []

    def probe(m: int) -> Sequence[bytes]:
        calls.append(m)
        return tree.consistency_proof(m, size)

    probe.calls = calls  # type: ignore[attr-defined]
    return probe


def pairs(chain: list[SealedEntry]) -> list[tuple[int, bytes]]:
    return [(e.seq, e.canonical) for e in chain]


def edited(entries: list[tuple[int, bytes]], k: int) -> list[tuple[int, bytes]]:
    out = list(entries)
    value = json.loads(out[k][1])
    value["actor"] = "someone.else"
    out[k] = (k, canonical_json(value))
    return out


def audit_seq(
    entries: list[tuple[int, bytes]],
    checkpoint: Checkpoint,
    probe: Callable[[int], Sequence[bytes]] | None,
) -> int | None:
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(entries, checkpoint, probe=probe)
    return info.value.seq


# --- a good log -----------------------------------------------------------------------------


def test_audit_passes_on_a_good_log(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint
) -> None:
    probe = honest_probe(tree, N)
    result = audit_log(pairs(chain), checkpoint, probe=probe)
    assert result.size == N
    assert result.root == tree.root() == checkpoint.root
    assert result.leaves == tuple(e.hash for e in chain)
    assert probe.calls == []  # type: ignore[attr-defined]  # nothing to bisect
    assert audit_log(pairs(chain), checkpoint).root == checkpoint.root


def test_audit_reads_only_up_to_the_checkpoint(
    key: SigningKey, chain: list[SealedEntry], tree: MemoryTree
) -> None:
    """Entries appended after the checkpoint are not covered by it and are not judged."""
    cp = signed(key, 8, tree.root(8))
    entries = pairs(chain)
    entries[10] = (10, b"appended later, not covered")
    assert audit_log(entries, cp).size == 8


def test_audit_of_the_empty_log(key: SigningKey) -> None:
    result = audit_log([], signed(key, 0, EMPTY_ROOT))
    assert result.size == 0 and result.root == EMPTY_ROOT


# --- attacks on the entries -----------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 6, 7, 11])
def test_edited_entry_with_probe_names_it(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint, k: int
) -> None:
    probe = honest_probe(tree, N)
    assert audit_seq(edited(pairs(chain), k), checkpoint, probe) == k
    assert len(probe.calls) <= N.bit_length() + 1  # type: ignore[attr-defined]  # bisection


def test_edited_last_entry_with_probe(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint
) -> None:
    """The chain alone cannot see this one; the signed root can."""
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(edited(pairs(chain), N - 1), checkpoint, probe=honest_probe(tree, N))
    assert info.value.seq == N - 1
    assert "signed checkpoint" in info.value.message


def test_edited_last_entry_without_probe_is_still_caught(
    chain: list[SealedEntry], checkpoint: Checkpoint
) -> None:
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(edited(pairs(chain), N - 1), checkpoint)
    assert "the ledger was altered" in info.value.message
    assert info.value.seq is None  # without proofs the root alone cannot point at an entry


@pytest.mark.parametrize("k", [0, 6])
def test_edited_entry_without_probe_names_it(
    chain: list[SealedEntry], checkpoint: Checkpoint, k: int
) -> None:
    assert audit_seq(edited(pairs(chain), k), checkpoint, None) == k


@pytest.mark.parametrize("with_probe", [True, False], ids=["probe", "no-probe"])
@pytest.mark.parametrize("k", [0, 5, N - 1])
def test_deleted_entry(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint, k: int, with_probe: bool
) -> None:
    entries = pairs(chain)
    del entries[k]
    probe = honest_probe(tree, N) if with_probe else None
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(entries, checkpoint, probe=probe)
    assert info.value.seq == k


@pytest.mark.parametrize("with_probe", [True, False], ids=["probe", "no-probe"])
@pytest.mark.parametrize("k", [0, 5, N - 2])
def test_two_swapped_entries(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint, k: int, with_probe: bool
) -> None:
    probe = honest_probe(tree, N) if with_probe else None
    whole = pairs(chain)
    whole[k], whole[k + 1] = whole[k + 1], whole[k]
    assert audit_seq(whole, checkpoint, probe) == k
    # payloads exchanged under unchanged seq numbers (two rows' bytes swapped)
    rows = pairs(chain)
    (sa, ca), (sb, cb) = rows[k], rows[k + 1]
    rows[k], rows[k + 1] = (sa, cb), (sb, ca)
    assert audit_seq(rows, checkpoint, probe) == k


@pytest.mark.parametrize("with_probe", [True, False], ids=["probe", "no-probe"])
def test_non_canonical_reencoding(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint, with_probe: bool
) -> None:
    entries = pairs(chain)
    entries[4] = (4, json.dumps(json.loads(entries[4][1]), indent=1).encode())
    probe = honest_probe(tree, N) if with_probe else None
    assert audit_seq(entries, checkpoint, probe) == 4


def test_first_of_two_edits_is_named(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint
) -> None:
    entries = edited(edited(pairs(chain), 9), 3)
    assert audit_seq(entries, checkpoint, honest_probe(tree, N)) == 3


def test_fully_rehashed_forgery_is_caught_by_the_root(
    key: SigningKey, chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint
) -> None:
    """Edit entry 5 and re-seal every later entry, re-linking the case chain too: every link
    is perfect, the root is not."""
    forged = build({5: "forger"})
    assert forged[:5] == chain[:5] and forged[5] != chain[5]
    assert audit_seq(pairs(forged), checkpoint, honest_probe(tree, N)) == 5
    assert audit_seq(pairs(forged), checkpoint, None) is None


# --- attacks on the checkpoint --------------------------------------------------------------


@pytest.mark.parametrize("with_probe", [True, False], ids=["probe", "no-probe"])
def test_forged_checkpoint_root(
    key: SigningKey, chain: list[SealedEntry], tree: MemoryTree, with_probe: bool
) -> None:
    """Signed with the right key, but over a root the entries do not have."""
    forged = signed(key, N, hashlib.sha256(b"not the root").digest())
    probe = honest_probe(tree, N) if with_probe else None
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(pairs(chain), forged, probe=probe)
    assert "signed checkpoint says" in info.value.message
    assert forged.root.hex() in info.value.message
    if with_probe:
        assert info.value.seq == 0  # no prefix of the entries is consistent with that root


def test_checkpoint_larger_than_the_log(
    key: SigningKey, chain: list[SealedEntry], tree: MemoryTree
) -> None:
    bigger = MemoryTree(tree.source(0, i) for i in range(N))
    bigger.append(hashlib.sha256(b"\x00x").digest())
    cp = signed(key, N + 1, bigger.root())
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(pairs(chain), cp)
    assert info.value.seq == N
    assert "deleted" in info.value.message


# --- consistency with an earlier checkpoint -------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 5, 8, N])
def test_consistent_with_an_earlier_checkpoint(
    key: SigningKey,
    chain: list[SealedEntry],
    tree: MemoryTree,
    checkpoint: Checkpoint,
    size: int,
) -> None:
    earlier = signed(key, size, tree.root(size))
    assert audit_log(pairs(chain), checkpoint, earlier=earlier).size == N


def test_earlier_checkpoint_with_another_history(
    key: SigningKey, chain: list[SealedEntry], checkpoint: Checkpoint
) -> None:
    """The log signed a different size-5 root before: it rewrote history (a fork)."""
    earlier = signed(key, 5, hashlib.sha256(b"another history").digest())
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(pairs(chain), checkpoint, earlier=earlier)
    assert "history was rewritten" in info.value.message


def test_earlier_checkpoint_larger_than_the_current(
    key: SigningKey, chain: list[SealedEntry], tree: MemoryTree
) -> None:
    current = signed(key, 8, tree.root(8))
    earlier = signed(key, 10, tree.root(10))
    with pytest.raises(LedgerIntegrityError) as info:
        audit_log(pairs(chain), current, earlier=earlier)
    assert "shrank" in info.value.message
    assert info.value.seq == 8


def test_earlier_checkpoint_of_another_log(
    chain: list[SealedEntry], tree: MemoryTree, checkpoint: Checkpoint
) -> None:
    other_key = SigningKey.generate("other.example/log")
    earlier = signed(other_key, 5, tree.root(5), origin="other.example/log")
    with pytest.raises(LedgerIntegrityError, match=r"other\.example/log"):
        audit_log(pairs(chain), checkpoint, earlier=earlier)


# --- check_consistency ----------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [(1, N), (5, N), (8, 12), (7, 8), (4, 4)])
def test_check_consistency_ok(key: SigningKey, tree: MemoryTree, first: int, second: int) -> None:
    old, new = signed(key, first, tree.root(first)), signed(key, second, tree.root(second))
    check_consistency(old, new, tree.consistency_proof(first, second))


def test_check_consistency_from_the_empty_log(key: SigningKey, tree: MemoryTree) -> None:
    check_consistency(signed(key, 0, EMPTY_ROOT), signed(key, N, tree.root()), [])


def test_check_consistency_refuses_a_bad_empty_root(key: SigningKey, tree: MemoryTree) -> None:
    bad_empty = signed(key, 0, hashlib.sha256(b"not empty").digest())
    with pytest.raises(ProofError):
        check_consistency(bad_empty, signed(key, N, tree.root()), [])


def test_check_consistency_fork(key: SigningKey, tree: MemoryTree) -> None:
    a = signed(key, 8, tree.root(8))
    b = signed(key, 8, hashlib.sha256(b"other").digest())
    with pytest.raises(ProofError, match="fork"):
        check_consistency(a, b, [])


def test_check_consistency_fork_at_different_sizes(key: SigningKey, tree: MemoryTree) -> None:
    """The old checkpoint belongs to another history: no proof from the real tree fits it."""
    other = MemoryTree(tree.source(0, i) for i in range(5))
    other.append(hashlib.sha256(b"\x00forked").digest())
    old = signed(key, 6, other.root())
    new = signed(key, N, tree.root())
    with pytest.raises(ProofError):
        check_consistency(old, new, tree.consistency_proof(6, N))


def test_check_consistency_shrink(key: SigningKey, tree: MemoryTree) -> None:
    old, new = signed(key, 10, tree.root(10)), signed(key, 6, tree.root(6))
    with pytest.raises(ProofError, match="larger"):
        check_consistency(old, new, tree.consistency_proof(6, 10))


def test_check_consistency_wrong_proof(key: SigningKey, tree: MemoryTree) -> None:
    old, new = signed(key, 5, tree.root(5)), signed(key, N, tree.root())
    proof = tree.consistency_proof(5, N)
    flipped = [*proof[:-1], bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
    for bad in (
        flipped,
        proof[:-1],
        [*proof, proof[0]],
        list(reversed(proof)),
        tree.consistency_proof(6, N),  # a proof for other sizes
        [],
    ):
        with pytest.raises(ProofError):
            check_consistency(old, new, bad)


def test_check_consistency_other_log(key: SigningKey, tree: MemoryTree) -> None:
    other_key = SigningKey.generate("other.example/log")
    old = signed(other_key, 5, tree.root(5), origin="other.example/log")
    with pytest.raises(ProofError, match="different logs"):
        check_consistency(old, signed(key, N, tree.root()), tree.consistency_proof(5, N))


# --- inclusion proofs -----------------------------------------------------------------------


@pytest.mark.parametrize(("i", "j"), [(0, 1), (3, 9), (12, 11), (6, 7)])
def test_proof_for_wrong_index(chain: list[SealedEntry], tree: MemoryTree, i: int, j: int) -> None:
    proof = tree.inclusion_proof(i, N)
    root = tree.root()
    verify_inclusion(leaf_hash=chain[i].hash, index=i, size=N, proof=proof, root=root)
    for leaf, index in ((chain[j].hash, j), (chain[i].hash, j), (chain[j].hash, i)):
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=leaf, index=index, size=N, proof=proof, root=root)


# --- attacks on the per-case chain ------------------------------------------------------------


def relinked(entries: list[tuple[int, bytes]], k: int, change: dict[str, object]) -> list[bytes]:
    """Change entry k, then re-seal the global prev chain after it (a forger with the key)."""
    out = [c for _, c in entries]
    prev = json.loads(out[k])["prev"]
    for i in range(k, len(out)):
        value = json.loads(out[i])
        value["prev"] = prev
        if i == k:
            value.update(change)
        out[i] = canonical_json(value)
        prev = hashlib.sha256(b"\x00" + out[i]).hexdigest()
    return out


def resigned(key: SigningKey, canonicals: list[bytes]) -> Checkpoint:
    tree = MemoryTree(hashlib.sha256(b"\x00" + c).digest() for c in canonicals)
    note = sign_checkpoint(Checkpoint(origin=ORIGIN, size=len(canonicals), root=tree.root()), key)
    return open_checkpoint(note, [key.verifier()])


def test_attack_case_entry_skipped_by_case_prev(key: SigningKey, chain: list[SealedEntry]) -> None:
    """Entry 7 is made to follow entry 5 of its case, as if entry 6 had never been there; the
    global chain and the root are re-signed, so only the case chain can tell."""
    forged = relinked(pairs(chain), 7, {"case_prev": chain[5].hash_hex})
    checkpoint = resigned(key, forged)
    with pytest.raises(LedgerIntegrityError, match="case chain is broken") as info:
        audit_log(list(enumerate(forged)), checkpoint)
    assert info.value.seq == 7


def test_attack_case_created_twice(key: SigningKey, chain: list[SealedEntry]) -> None:
    forged = relinked(pairs(chain), 4, {"action": "case.created", "case_prev": None})
    checkpoint = resigned(key, forged)
    with pytest.raises(LedgerIntegrityError, match="creates case") as info:
        audit_log(list(enumerate(forged)), checkpoint)
    assert info.value.seq == 4


def test_attack_entry_before_its_case_was_created(key: SigningKey) -> None:
    orphan = MemoryLedger()
    orphan.append(
        EntryDraft(actor="a", department="d", action=Action.CASE_CREATED, case="X"), time=T0
    )
    forged = relinked(pairs(orphan.entries), 0, {"action": "evidence.view", "case": "Y"})
    with pytest.raises(LedgerIntegrityError, match=r"before the case's case\.created"):
        audit_log(list(enumerate(forged)), resigned(key, forged))
