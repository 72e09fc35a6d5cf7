"""Custody changes: two-step transfers, legal holds, and two-person disposal (销毁审批)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlmodel import col

from api.authz import authorized_evidence, grants_of, principal_of, scope_of
from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.openapi import problems
from api.schemas import (
    EvidencePublic,
    LegalHoldBody,
    ReasonBody,
    RetentionBody,
    TransferCreate,
    TransferPublic,
)
from api.services.evidence_view import (
    evidence_public,
    evidence_state,
    intake_of,
    record_touch,
    retained_until,
)
from api.services.images import parts_of_others
from custody import ledger_store, policy, transitions
from custody.db import aware
from custody.errors import InvalidState, ObjectMissing, StorageError, UnknownAccount
from custody.ledger import Action, rfc3339, utc_now
from custody.models import Account, Case, Evidence, LedgerEntry
from custody.state import EvidenceState, EvidenceStatus

router = APIRouter(prefix="/api/v1", tags=["custody"])


@router.post(
    "/evidence/{evidence_id}/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_TRANSFER)],
    responses=problems(404, 409),
)
def start_transfer(
    evidence_id: str, body: TransferCreate, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """The current custodian hands over; custody stays with them until the recipient accepts."""
    ev, case = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_TRANSFER, evidence_id
    )
    recipient = session.get(Account, body.to)
    if recipient is None or not recipient.active:
        raise UnknownAccount(f"account {body.to!r} does not exist or is deactivated")
    decision = policy.decide(
        principal=principal_of(recipient),
        action=policy.Permission.EVIDENCE_TRANSFER_ACCEPT,
        case=scope_of(session, case),
        grants=grants_of(session, recipient.name, case.number),
        now=utc_now(),
    )
    if not decision.allowed:
        raise InvalidState(f"{recipient.name} could not accept this evidence: {decision.reason}")
    state = locked_state(session, ev.id)
    transitions.start_transfer(state, ev.id, by=account.name, to=recipient.name)
    record_touch(
        session,
        account,
        Action.TRANSFER_STARTED,
        ev,
        {
            "transfer_id": str(uuid.uuid4()),
            "to": recipient.name,
            "to_department": recipient.department,
            "reason": body.reason,
        },
    )
    session.commit()
    return evidence_public(session, ev)


@router.post(
    "/evidence/{evidence_id}/transfers/accept",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_TRANSFER_ACCEPT)],
    responses=problems(404, 409),
)
def accept_transfer(evidence_id: str, session: SessionDep, account: AccountDep) -> EvidencePublic:
    ev, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_TRANSFER_ACCEPT, evidence_id
    )
    pending = transitions.accept_transfer(locked_state(session, ev.id), ev.id, by=account.name)
    record_touch(
        session,
        account,
        Action.TRANSFER_ACCEPTED,
        ev,
        {"transfer_id": pending.transfer_id, "from": pending.from_account},
    )
    session.commit()
    return evidence_public(session, ev)


@router.get(
    "/transfers",
    response_model=list[TransferPublic],
    dependencies=[guard(policy.Permission.TRANSFER_LIST)],
)
def pending_transfers(session: SessionDep, account: AccountDep) -> list[TransferPublic]:
    """Transfers started but not yet accepted, with their age."""
    ids = session.execute(
        select(col(LedgerEntry.evidence_id))
        .where(col(LedgerEntry.action) == Action.TRANSFER_STARTED)
        .distinct()
    ).scalars()
    now = utc_now()
    principal = principal_of(account)
    sees_all = policy.sees_every_transfer(principal)
    grants = grants_of(session, account.name)
    result = []
    for evidence_id in ids:
        if evidence_id is None:
            continue
        ev = session.get(Evidence, evidence_id)
        case = session.get(Case, ev.case_number) if ev else None
        if ev is None or case is None:
            continue
        pending = evidence_state(session, evidence_id).pending_transfer
        if pending is None:
            continue
        involved = account.name in (pending.from_account, pending.to_account)
        if not (
            sees_all
            or involved
            or policy.can_view_case(principal, scope_of(session, case), grants, now)
        ):
            continue
        started = datetime.fromisoformat(pending.started_at.replace("Z", "+00:00"))
        result.append(
            TransferPublic(
                transfer_id=pending.transfer_id,
                evidence=evidence_id,
                case=ev.case_number,
                from_account=pending.from_account,
                to_account=pending.to_account,
                reason=pending.reason,
                started_at=pending.started_at,
                age_seconds=int((now - started).total_seconds()),
            )
        )
    return result


@router.post(
    "/evidence/{evidence_id}/legal-hold",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_LEGAL_HOLD)],
    responses=problems(404, 409, 502),
)
def legal_hold(
    evidence_id: str, body: LegalHoldBody, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """Set or clear a legal hold on the stored object and record it."""
    ev, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_LEGAL_HOLD, evidence_id
    )
    transitions.change_legal_hold(locked_state(session, ev.id), ev.id)
    record = intake_of(session, ev.id)
    # every stored part of an image is held, the first answers for all (issue 14)
    lock = next(
        ctx.store.set_legal_hold(p.object_key, p.object_version, body.on)
        for p in record.stored_parts()
    )
    record_touch(
        session,
        account,
        Action.LEGAL_HOLD_SET if body.on else Action.LEGAL_HOLD_CLEARED,
        ev,
        {"reason": body.reason, "storage_legal_hold": lock.legal_hold},
    )
    session.commit()
    return evidence_public(session, ev)


@router.post(
    "/evidence/{evidence_id}/retention",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_LEGAL_HOLD)],
    responses=problems(404, 409, 502),
)
def extend_retention(
    evidence_id: str,
    body: RetentionBody,
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
) -> EvidencePublic:
    """Extend the storage retention (never shorten it) and record why."""
    ev, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_LEGAL_HOLD, evidence_id
    )
    state = locked_state(session, ev.id)
    until = aware(body.until)
    record = intake_of(session, ev.id)
    current = retained_until(record, state)
    transitions.extend_retention(state, ev.id, current=current, until=until)
    lock = next(
        ctx.store.set_retention(p.object_key, p.object_version, until)
        for p in record.stored_parts()
    )
    record_touch(
        session,
        account,
        Action.RETENTION_EXTENDED,
        ev,
        {
            "reason": body.reason,
            "retention_until": rfc3339(until),
            "previous": rfc3339(current),
            "storage_mode": lock.mode,
        },
    )
    session.commit()
    return evidence_public(session, ev)


@router.post(
    "/evidence/{evidence_id}/disposal",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_DISPOSE_REQUEST)],
    responses=problems(404, 409),
)
def request_disposal(
    evidence_id: str, body: ReasonBody, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """Register a disposal (销毁登记); a second account must approve it."""
    ev, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_DISPOSE_REQUEST, evidence_id
    )
    transitions.request_disposal(locked_state(session, ev.id), ev.id)
    record_touch(
        session,
        account,
        Action.DISPOSAL_REQUESTED,
        ev,
        {"request_id": str(uuid.uuid4()), "reason": body.reason},
    )
    session.commit()
    return evidence_public(session, ev)


@router.post(
    "/evidence/{evidence_id}/disposal/approve",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_DISPOSE_APPROVE)],
    responses=problems(404, 409, 502),
)
def approve_disposal(
    evidence_id: str, body: ReasonBody, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """A second person approves; the content is removed, the record and history remain."""
    ev, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_DISPOSE_APPROVE, evidence_id
    )
    state = locked_state(session, ev.id)
    record = intake_of(session, ev.id)
    pending = transitions.approve_disposal(
        state, ev.id, by=account.name, now=utc_now(), retained_until=retained_until(record, state)
    )
    record_touch(
        session,
        account,
        Action.DISPOSAL_APPROVED,
        ev,
        {"request_id": pending.request_id, "reason": body.reason},
    )
    session.commit()
    remove_content(ctx, session, account, ev)
    return evidence_public(session, ev)


@router.post(
    "/evidence/{evidence_id}/disposal/complete",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_DISPOSE_APPROVE)],
    responses=problems(404, 409, 502),
)
def complete_disposal(
    evidence_id: str, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """Retry an approved disposal whose deletion failed (e.g. storage was down)."""
    ev, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_DISPOSE_APPROVE, evidence_id
    )
    transitions.complete_disposal(evidence_state(session, ev.id), ev.id)
    session.commit()
    remove_content(ctx, session, account, ev)
    return evidence_public(session, ev)


def locked_state(session: SessionDep, evidence_id: str) -> EvidenceState:
    """The item's state, read after taking the ledger lock that the transition's entry needs."""
    ledger_store.lock_head(session)
    return evidence_state(session, evidence_id)


def remove_content(ctx: ContextDep, session: SessionDep, account: Account, ev: Evidence) -> None:
    """Delete an approved disposal's content, then record DISPOSED, or DISPOSAL_FAILED.

    The deletion runs outside the ledger lock; the outcome is recorded under it, after the
    state is checked again, so a retry racing another records the disposal once. Content
    shared with another item that is not disposed of stays (content addressing).
    """
    record = intake_of(session, ev.id)
    others = [
        other.id
        for other in session.execute(
            select(Evidence).where(
                col(Evidence.object_key) == record.object_key, col(Evidence.id) != ev.id
            )
        ).scalars()
        if evidence_state(session, other.id).status != EvidenceStatus.DISPOSED
    ]
    session.commit()
    already_absent = False
    shared = parts_of_others(session, ev.id)
    session.commit()
    try:
        if not others:
            for p in record.stored_parts():
                if (p.object_key, p.object_version) not in shared:
                    ctx.store.delete(p.object_key, p.object_version)
    except ObjectMissing:
        already_absent = True  # a retry after a deletion whose answer was lost
    except StorageError as e:
        pending = transitions.complete_disposal(locked_state(session, ev.id), ev.id)
        record_touch(
            session,
            account,
            Action.DISPOSAL_FAILED,
            ev,
            {"request_id": pending.request_id, "code": e.code, "reason": e.message},
        )
        session.commit()
        raise
    pending = transitions.complete_disposal(locked_state(session, ev.id), ev.id)
    record_touch(
        session,
        account,
        Action.DISPOSED,
        ev,
        {
            "request_id": pending.request_id,
            "content_removed": not others,
            **({"already_absent": True} if already_absent else {}),
            "shared_with": others,
            "digests": dict(record.digests),
        },
    )
    session.commit()
