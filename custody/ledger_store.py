"""The ledger in the database: appends in one order, Merkle nodes, proofs and checkpoints.

Each append locks the single ``ledger_head`` row (``SELECT … FOR UPDATE`` on PostgreSQL;
on SQLite ``custody.db.begin_write`` first takes the database's write lock), so every
writer — thread, process or API replica — takes the next ``seq`` in one linear order.
The append stores the entry, its leaf and the complete-subtree nodes it completes; roots
and proofs at any size are then computed from O(log n) stored nodes, never from all
leaves.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from custody import merkle
from custody.checkpoint import Checkpoint as SignedCheckpointBody
from custody.checkpoint import SigningKey, sign_checkpoint
from custody.db import begin_write
from custody.errors import InputError, LedgerIntegrityError, NumberUnavailable
from custody.ledger import Action, EntryDraft, SealedEntry, seal_entry, utc_now
from custody.models import Checkpoint, LedgerEntry, LedgerHead, LedgerNode

MAX_PAGE = 1000


def node_source(session: Session) -> merkle.SubtreeSource:
    """The stored complete subtrees, as a :data:`custody.merkle.SubtreeSource`."""
    return _node_source(session)


def _node_source(session: Session) -> merkle.SubtreeSource:
    cache: dict[tuple[int, int], bytes] = {}

    def source(level: int, index: int) -> bytes:
        key = (level, index)
        if key not in cache:
            node = session.get(LedgerNode, key)
            if node is None:
                raise LedgerIntegrityError(
                    f"Merkle node (level {level}, index {index}) is missing from the database",
                    seq=index << level,
                )
            cache[key] = node.hash
        return cache[key]

    return source


def lock_head(session: Session) -> LedgerHead:
    """Take the ledger lock for the rest of the caller's transaction; return the head.

    Every append takes it; a state transition takes it first, then re-reads the entries it
    decides on, so that the check and the entry recording the transition happen under one
    lock and of two racing transitions exactly one wins.
    """
    begin_write(session)  # SQLite: take the write lock before reading the head
    return session.execute(
        select(LedgerHead)
        .where(col(LedgerHead.id) == 1)
        .with_for_update()
        .execution_options(populate_existing=True)  # never a head loaded before the lock
    ).scalar_one()


def append(session: Session, draft: EntryDraft, *, time: datetime | None = None) -> SealedEntry:
    """Append one entry inside the caller's transaction; the caller commits."""
    head = lock_head(session)
    seq = head.size
    moment = time or utc_now()
    case_prev = case_head(session, draft.case) if draft.case is not None else None
    if draft.action == Action.CASE_CREATED and case_prev is not None:
        raise NumberUnavailable("the number is not available; choose another")
    sealed = seal_entry(draft, seq=seq, prev=head.last_hash, case_prev=case_prev, time=moment)
    session.add(
        LedgerEntry(
            seq=seq,
            entry_hash=sealed.hash_hex,
            canonical=sealed.canonical,
            action=str(draft.action),
            case_number=draft.case,
            evidence_id=draft.evidence,
            actor=draft.actor,
            recorded_at=moment,
        )
    )
    for level, idx, digest in merkle.completed_nodes(seq, sealed.hash, _node_source(session)):
        session.add(LedgerNode(level=level, idx=idx, hash=digest))
    head.size = seq + 1
    head.last_hash = sealed.hash_hex
    session.add(head)
    session.flush()
    return sealed


def case_head(session: Session, case_number: str) -> str | None:
    """The hash of the case's latest entry (None before its ``case.created``).

    Called under the ledger-head lock, so the answer cannot change before the append.
    """
    found = session.execute(
        select(col(LedgerEntry.entry_hash))
        .where(col(LedgerEntry.case_number) == case_number)
        .order_by(col(LedgerEntry.seq).desc())
        .limit(1)
    ).scalar_one_or_none()
    return str(found) if found is not None else None


def size(session: Session) -> int:
    return int(
        session.execute(select(col(LedgerHead.size)).where(col(LedgerHead.id) == 1)).scalar_one()
    )


def _check_size(session: Session, n: int, what: str) -> None:
    current = size(session)
    if n < 0 or n > current:
        raise InputError(f"{what} {n} is outside the ledger (size {current})")


def root(session: Session, tree_size: int) -> bytes:
    _check_size(session, tree_size, "tree size")
    return merkle.root(tree_size, _node_source(session))


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    _check_size(session, tree_size, "tree size")
    if not 0 <= index < tree_size:
        raise InputError(f"leaf index {index} must be below the tree size {tree_size}")
    return merkle.inclusion_proof(index, tree_size, _node_source(session))


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    _check_size(session, second, "second size")
    if not 0 < first <= second:
        raise InputError(f"consistency needs 0 < first <= second, got {first} and {second}")
    return merkle.consistency_proof(first, second, _node_source(session))


def entries(session: Session, start: int, end: int) -> Sequence[LedgerEntry]:
    """Entries with ``start <= seq < end`` (at most MAX_PAGE), as stored."""
    if start < 0 or end < start:
        raise InputError(f"invalid range start={start} end={end}")
    end = min(end, start + MAX_PAGE)
    return (
        session.execute(
            select(LedgerEntry)
            .where(col(LedgerEntry.seq) >= start, col(LedgerEntry.seq) < end)
            .order_by(col(LedgerEntry.seq))
        )
        .scalars()
        .all()
    )


def entries_of_evidence(session: Session, evidence_id: str) -> Sequence[LedgerEntry]:
    return (
        session.execute(
            select(LedgerEntry)
            .where(col(LedgerEntry.evidence_id) == evidence_id)
            .order_by(col(LedgerEntry.seq))
        )
        .scalars()
        .all()
    )


def entries_of_case(session: Session, case_number: str) -> Sequence[LedgerEntry]:
    return (
        session.execute(
            select(LedgerEntry)
            .where(col(LedgerEntry.case_number) == case_number)
            .order_by(col(LedgerEntry.seq))
        )
        .scalars()
        .all()
    )


def entry_at(session: Session, seq: int) -> LedgerEntry | None:
    return session.get(LedgerEntry, seq)


def checkpoint_at(session: Session, tree_size: int) -> Checkpoint | None:
    return session.get(Checkpoint, tree_size)


def sign_current(session: Session, key: SigningKey, origin: str) -> Checkpoint:
    """Return a signed checkpoint at the current size, signing and persisting one if needed.

    Persisting every checkpoint lets anyone later ask for a consistency proof from any
    checkpoint they were ever given.
    """
    n = size(session)
    existing = checkpoint_at(session, n)
    if existing is not None:
        return existing
    digest = merkle.root(n, _node_source(session))
    note = sign_checkpoint(SignedCheckpointBody(origin=origin, size=n, root=digest), key)
    row = Checkpoint(size=n, root=digest.hex(), note=note, created_at=utc_now())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another request signed the same size first
        found = checkpoint_at(session, n)
        assert found is not None
        return found
    return row


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")
