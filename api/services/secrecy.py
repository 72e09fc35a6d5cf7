"""The classified-material procedures' state, read from the ledger for each decision.

custody.secrecy folds a case's entries; this module only fetches them. Deciding on the
ledger rather than on the ``cases`` row means an insider who edits the row's classification
lowers nothing: the level, the borrowings and the copy numbers are the hash-chained ones.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from api.schemas import SecrecyPublic
from custody import ledger_store, policy
from custody.errors import CopyNumberTaken
from custody.ledger import Action, utc_now
from custody.models import Case, LedgerEntry
from custody.secrecy import CaseSecrecy
from custody.secrecy.record import Proposal

PROCEDURE_ACTIONS = frozenset(
    a.value
    for a in Action
    if a.value.split(".")[0] in ("classification", "borrowing", "copy", "destruction")
) | {Action.CASE_CREATED.value, Action.INTAKE.value, Action.DOWNLOAD.value, Action.EXPORT.value}
"""What the decisions need: the level, borrowings, items and numbered copies."""


def load(session: Session, number: str, *, full: bool = False) -> CaseSecrecy:
    """Fold the case's entries; ``full`` adds every access (for the register)."""
    query = select(LedgerEntry).where(col(LedgerEntry.case_number) == number)
    if not full:
        query = query.where(col(LedgerEntry.action).in_(PROCEDURE_ACTIONS))
    rows = session.execute(query.order_by(col(LedgerEntry.seq))).scalars().all()
    return CaseSecrecy.fold(json.loads(r.canonical) for r in rows)


def scope(session: Session, case: Case) -> tuple[policy.CaseScope, tuple[policy.Borrowing, ...]]:
    """The case as policy weighs it: department and level from the ledger, and its borrowings."""
    state = load(session, case.number)
    return (
        policy.CaseScope(
            number=case.number,
            department=state.department,
            classification=state.classification.level,
        ),
        state.live_borrowings(),
    )


def _proposal(p: Proposal | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "id": p.id,
        "kind": p.kind,
        "level": p.level.value,
        "period": p.period.to_json() if p.period else None,
        "basis": p.basis,
        "reason": p.reason,
        "proposed_by": p.proposed.actor,
        "proposed_at": p.proposed.time.isoformat(),
    }


def secrecy_public(state: CaseSecrecy) -> SecrecyPublic:
    c = state.classification
    return SecrecyPublic(
        level=c.level.value,
        mark=c.mark,
        period=c.period.to_json() if c.period else None,
        basis=c.basis,
        proposer=c.proposer,
        approver=c.approver,
        since=c.since,
        ends_at=c.ends(),
        review_due=c.review_due(utc_now()),
        pending_proposal=_proposal(state.open_proposal()),
    )


def next_copy_number(session: Session, number: str) -> int | None:
    """Under the ledger lock: the next 第 N 份 of a classified case, or None if unclassified."""
    ledger_store.lock_head(session)
    state = load(session, number)
    return state.next_copy_number() if state.classified else None


def claim_copy_number(session: Session, number: str, expected: int | None) -> None:
    """Under the lock, check that the number promised before rendering is still the next."""
    now = next_copy_number(session, number)
    if now != expected:
        raise CopyNumberTaken(
            f"copy 第 {expected} 份 of case {number} was taken by a concurrent copy while this "
            "export was prepared; nothing was recorded; export again"
        )
