"""Client-side audit of a whole ledger: every hash, every link, the signed root.

Used by ``custody ledger verify`` and the offline bundle verifier. It trusts nothing but
the verifier key: entries are re-hashed from their canonical bytes, the chain is walked,
the Merkle root is recomputed and compared with the signed checkpoint, and every case's
``case_prev`` chain is followed. When the root does
not match, a bisection over consistency proofs names the first entry that differs from
what was signed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from custody import merkle
from custody.case_chain import audit_case_links
from custody.checkpoint import Checkpoint
from custody.errors import LedgerIntegrityError, ProofError
from custody.ledger import GENESIS_PREV, check_entry

ConsistencyProbe = Callable[[int], Sequence[bytes]]
"""``probe(m)`` returns the server's consistency proof from size m to the checkpoint size."""


@dataclass(frozen=True, kw_only=True)
class AuditResult:
    size: int
    root: bytes
    leaves: tuple[bytes, ...]


def _first_bad_by_bisection(
    leaves: Sequence[bytes], checkpoint: Checkpoint, probe: ConsistencyProbe
) -> int:
    """Smallest m such that leaves[:m] is not a prefix of the signed tree; returns m-1."""
    tree = merkle.MemoryTree()
    for leaf in leaves:
        tree.append(leaf)

    def prefix_ok(m: int) -> bool:
        if m == checkpoint.size:
            return tree.root(m) == checkpoint.root
        try:
            merkle.verify_consistency(
                first=m,
                second=checkpoint.size,
                proof=probe(m),
                first_root=tree.root(m),
                second_root=checkpoint.root,
            )
        except ProofError:
            return False
        return True

    lo, hi = 1, checkpoint.size  # invariant: prefix_ok(hi) is False
    while lo < hi:
        mid = (lo + hi) // 2
        if prefix_ok(mid):
            lo = mid + 1
        else:
            hi = mid
    return hi - 1


def _edited_before_link(
    entries: Sequence[tuple[int, bytes]], leaves: list[bytes], k: int, checkpoint: Checkpoint
) -> int | None:
    """Entry k's ``prev`` still carries the original hash of entry k-1; if putting it back
    reproduces the signed root, entry k-1 (not the link) is what was edited."""
    try:
        original = bytes.fromhex(json.loads(entries[k][1])["prev"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if len(original) != merkle.HASH_SIZE:
        return None
    restored = merkle.MemoryTree([*leaves[: k - 1], original, *leaves[k:]])
    return k - 1 if restored.root(checkpoint.size) == checkpoint.root else None


def audit_log(
    entries: Sequence[tuple[int, bytes]],
    checkpoint: Checkpoint,
    *,
    earlier: Checkpoint | None = None,
    probe: ConsistencyProbe | None = None,
) -> AuditResult:
    """Check ``entries`` (seq 0 … checkpoint.size-1) against a verified checkpoint.

    Raises LedgerIntegrityError whose ``seq`` is the first bad entry.
    """
    leaves: list[bytes] = []
    prev = GENESIS_PREV
    chain_error: LedgerIntegrityError | None = None
    for position, (seq, canonical) in enumerate(entries[: checkpoint.size]):
        try:
            if seq != position:
                raise LedgerIntegrityError(
                    f"expected entry {position} but the ledger returned {seq}: entries are "
                    "missing or out of order",
                    seq=position,
                )
            leaf = check_entry(canonical, expected_seq=position, expected_prev=prev)
        except LedgerIntegrityError as e:
            chain_error = chain_error or e
            leaf = merkle.leaf_hash(canonical)
        leaves.append(leaf)
        prev = leaf.hex()
    if len(leaves) < checkpoint.size:
        if chain_error is not None:
            raise chain_error
        raise LedgerIntegrityError(
            f"the checkpoint covers {checkpoint.size} entries but only {len(leaves)} were "
            "returned: entries were deleted",
            seq=len(leaves),
        )
    tree = merkle.MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    root = tree.root(checkpoint.size)
    if root != checkpoint.root:
        bad: int | None = None
        if probe is not None and checkpoint.size > 0:
            bad = _first_bad_by_bisection(leaves, checkpoint, probe)
        elif chain_error is not None and chain_error.seq:
            bad = _edited_before_link(entries, leaves, chain_error.seq, checkpoint)
        if chain_error is not None and (
            bad is None or (chain_error.seq is not None and chain_error.seq <= bad)
        ):
            raise LedgerIntegrityError(
                f"{chain_error.message}; and the entries do not hash to the signed root",
                seq=chain_error.seq,
            )
        where = f"; first entry that differs from the signed tree: {bad}" if bad is not None else ""
        raise LedgerIntegrityError(
            f"the entries hash to root {root.hex()} but the signed checkpoint says "
            f"{checkpoint.root.hex()}: the ledger was altered{where}",
            seq=bad,
        )
    if chain_error is not None:
        raise chain_error
    audit_case_links(
        (seq, leaf.hex(), json.loads(canonical))
        for (seq, canonical), leaf in zip(entries, leaves, strict=False)
    )
    if earlier is not None:
        if earlier.origin != checkpoint.origin:
            raise LedgerIntegrityError(
                f"the earlier checkpoint is for log {earlier.origin!r}, not {checkpoint.origin!r}"
            )
        if earlier.size > checkpoint.size:
            raise LedgerIntegrityError(
                f"the earlier checkpoint (size {earlier.size}) is larger than the current one "
                f"({checkpoint.size}): the log shrank",
                seq=checkpoint.size,
            )
        if earlier.size and tree.root(earlier.size) != earlier.root:
            raise LedgerIntegrityError(
                f"the ledger's first {earlier.size} entries no longer hash to the earlier "
                "checkpoint's root: history was rewritten",
            )
    return AuditResult(size=checkpoint.size, root=root, leaves=tuple(leaves))


def check_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Prove that ``new`` extends ``old`` (both already signature-checked)."""
    if old.origin != new.origin:
        raise ProofError(f"checkpoints are for different logs: {old.origin!r} vs {new.origin!r}")
    if old.size > new.size:
        raise ProofError(
            f"the first checkpoint ({old.size}) is larger than the second ({new.size})"
        )
    if old.size == new.size:
        if old.root != new.root:
            raise ProofError(f"two different roots were signed for size {old.size}: a fork")
        return
    if old.size == 0:
        if old.root != merkle.EMPTY_ROOT:
            raise ProofError("a checkpoint of the empty log must carry the empty-tree root")
        return
    merkle.verify_consistency(
        first=old.size, second=new.size, proof=proof, first_root=old.root, second_root=new.root
    )
