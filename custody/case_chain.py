"""The per-case chain: each entry of a case commits to the case's previous entry.

The global ``prev`` chain proves the order of the whole log; ``case_prev`` proves, for one
case, that nothing between two of its entries was left out. A bundle holds one case's
entries only (other cases stay private), so its completeness rests on this chain: walked
from the EXPORT entry — the last leaf of the bundle's signed checkpoint, hence the case's
head when it was exported — back to ``case.created``, every link must be present, earlier,
and of the same case, and no bundled entry may be off the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.errors import LedgerIntegrityError
from custody.ledger import Action


@dataclass(frozen=True, kw_only=True)
class CaseEntry:
    """One bundled entry: its seq, its leaf hash (hex) and its parsed value."""

    seq: int
    hash: str
    value: Mapping[str, Any]

    @property
    def action(self) -> str:
        return str(self.value.get("action"))

    def label(self) -> str:
        return f"entry {self.seq} ({self.action})"


@dataclass(frozen=True, kw_only=True)
class ChainWalk:
    """The case chain as walked from its head: the seqs reached, newest first, and problems."""

    reached: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_case_links(entries: Iterable[tuple[int, str, Mapping[str, Any]]]) -> None:
    """Check every ``case_prev`` link of a whole log, given ``(seq, hash, value)`` in order.

    Raises LedgerIntegrityError naming the first entry whose link does not hold.
    """
    heads: dict[str, tuple[int, str]] = {}
    for seq, entry_hash, value in entries:
        case = value.get("case")
        link = value.get("case_prev")
        action = value.get("action")
        if case is None:
            if link is not None:
                raise LedgerIntegrityError(
                    f"entry {seq} names no case but carries case_prev {link}", seq=seq
                )
            continue
        case = str(case)
        head = heads.get(case)
        if action == Action.CASE_CREATED:
            if head is not None:
                raise LedgerIntegrityError(
                    f"entry {seq} creates case {case!r} again (first created by entry {head[0]})",
                    seq=seq,
                )
            if link is not None:
                raise LedgerIntegrityError(
                    f"entry {seq} (case.created) must have case_prev null, not {link}", seq=seq
                )
        elif head is None:
            raise LedgerIntegrityError(
                f"entry {seq} ({action}) of case {case!r} comes before the case's case.created",
                seq=seq,
            )
        elif link != head[1]:
            raise LedgerIntegrityError(
                f"entry {seq} of case {case!r} has case_prev {link}, but the case's previous "
                f"entry {head[0]} hashes to {head[1]}: the case chain is broken here",
                seq=seq,
            )
        heads[case] = (seq, entry_hash)


def walk_case_chain(case: str, entries: Sequence[CaseEntry], head_seq: int) -> ChainWalk:
    """Walk ``case``'s chain from entry ``head_seq`` back to ``case.created``.

    Every problem is named with the link concerned: a missing link (an entry of the case was
    removed), a link to a later entry (entries reordered), an entry of another case (two
    cases spliced), a chain that ends elsewhere than ``case.created``, and bundled entries
    that the chain never reaches (added, or from another export).
    """
    by_seq = {e.seq: e for e in entries}
    by_hash = {e.hash: e for e in entries}
    walk = ChainWalk()
    current = by_seq.get(head_seq)
    if current is None:
        walk.problems.append(
            f"the head of the case chain, entry {head_seq}, is not in the bundle — it was removed"
        )
    while current is not None:
        walk.reached.append(current.seq)
        owner = current.value.get("case")
        if owner != case:
            walk.problems.append(
                f"{current.label()} belongs to case {owner!r}, not {case!r} — entries of two "
                "cases were spliced"
            )
        link = current.value.get("case_prev")
        if link is None:
            if current.action != Action.CASE_CREATED:
                walk.problems.append(
                    f"the case chain ends at {current.label()}, which is not case.created — "
                    "the case's beginning was cut off"
                )
            break
        previous = by_hash.get(str(link))
        if previous is None:
            # Go on from the newest bundled entry below this one, to name earlier gaps too.
            below = [e for e in entries if e.seq < current.seq and e.seq not in walk.reached]
            resume = max(below, key=lambda e: e.seq) if below else None
            where = f"after entry {resume.seq} and " if resume else ""
            walk.problems.append(
                f"link missing: {current.label()} follows the case entry with hash {link}, "
                f"which is not in the bundle — an entry of the case {where}before entry "
                f"{current.seq} was removed"
            )
            current = resume
            continue
        if previous.seq >= current.seq or previous.seq in walk.reached:
            walk.problems.append(
                f"out of order: {current.label()} links back to entry {previous.seq}, which is "
                "not earlier in the ledger — entries were reordered"
            )
            break
        current = previous
    ended_elsewhere = walk.reached and by_seq[walk.reached[-1]].action != Action.CASE_CREATED
    if ended_elsewhere and not any("case.created" in p for p in walk.problems):
        walk.problems.append("the bundle holds no case.created entry for the case — it was removed")
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.seq not in walk.reached:
            walk.problems.append(
                f"{entry.label()} of case {entry.value.get('case')!r} is not on the case chain "
                f"from entry {head_seq} back to case.created — it was added or spliced in"
            )
    return walk
