"""Custody changes: two-step transfers, legal holds, and two-person disposal (销毁审批)."""

from __future__ import annotations

import json
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
    record_touch,
    retained_until,
)
from custody import policy
from custody.db import aware
from custody.errors import InvalidState, PermissionDenied, UnknownAccount
from custody.ledger import Action, rfc3339, utc_now
from custody.models import Account, Case, Evidence, LedgerEntry

router = APIRouter(prefix="/api/v1", tags=["custody"])


@router.post(
    "/evidence/{evidence_id}/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidencePublic,
    dependencies=[guard(policy.Action.EVIDENCE_TRANSFER)],
    responses=problems(404, 409),
)
def start_transfer(
    evidence_id: str, body: TransferCreate, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """The current custodian hands over; custody stays with them until the recipient accepts."""
    ev, case = authorized_evidence(session, account, policy.Action.EVIDENCE_TRANSFER, evidence_id)
    state = evidence_state(session, ev.id)
    if state.custodian != account.name:
        raise InvalidState(
            f"only the current custodian ({state.custodian}) can start a transfer of {ev.id}"
        )
    if state.status == "disposed":
        raise InvalidState(f"evidence {ev.id} has been disposed of")
    if state.pending_transfer is not None:
        raise InvalidState(
            f"transfer {state.pending_transfer.transfer_id} to "
            f"{state.pending_transfer.to_account} is still pending; it must be accepted first"
        )
    recipient = session.get(Account, body.to)
    if recipient is None or not recipient.active:
        raise UnknownAccount(f"account {body.to!r} does not exist or is deactivated")
    if recipient.name == account.name:
        raise InvalidState("a transfer needs a different recipient")
    decision = policy.decide(
        principal=principal_of(recipient),
        action=policy.Action.EVIDENCE_TRANSFER_ACCEPT,
        case=scope_of(case),
        grants=grants_of(session, recipient.name, case.number),
        now=utc_now(),
    )
    if not decision.allowed:
        raise InvalidState(f"{recipient.name} could not accept this evidence: {decision.reason}")
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
    dependencies=[guard(policy.Action.EVIDENCE_TRANSFER_ACCEPT)],
    responses=problems(404, 409),
)
def accept_transfer(evidence_id: str, session: SessionDep, account: AccountDep) -> EvidencePublic:
    ev, _ = authorized_evidence(
        session, account, policy.Action.EVIDENCE_TRANSFER_ACCEPT, evidence_id
    )
    pending = evidence_state(session, ev.id).pending_transfer
    if pending is None:
        raise InvalidState(f"evidence {ev.id} has no pending transfer")
    if pending.to_account != account.name:
        raise PermissionDenied(
            f"the pending transfer of {ev.id} is addressed to {pending.to_account}, not to you"
        )
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
    dependencies=[guard(policy.Action.TRANSFER_LIST)],
)
def pending_transfers(session: SessionDep, account: AccountDep) -> list[TransferPublic]:
    """Transfers started but not yet accepted, with their age."""
    ids = session.execute(
        select(col(LedgerEntry.evidence_id))
        .where(col(LedgerEntry.action) == Action.TRANSFER_STARTED)
        .distinct()
    ).scalars()
    now = utc_now()
    sees_all = account.role in ("admin", "auditor")
    principal = principal_of(account)
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
            sees_all or involved or policy.can_view_case(principal, scope_of(case), grants, now)
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
    dependencies=[guard(policy.Action.EVIDENCE_LEGAL_HOLD)],
    responses=problems(404, 409, 502),
)
def legal_hold(
    evidence_id: str, body: LegalHoldBody, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """Set or clear a legal hold on the stored object and record it."""
    ev, _ = authorized_evidence(session, account, policy.Action.EVIDENCE_LEGAL_HOLD, evidence_id)
    if evidence_state(session, ev.id).status == "disposed":
        raise InvalidState(f"evidence {ev.id} has been disposed of")
    lock = ctx.store.set_legal_hold(ev.object_key, ev.object_version, body.on)
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
    dependencies=[guard(policy.Action.EVIDENCE_LEGAL_HOLD)],
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
    ev, _ = authorized_evidence(session, account, policy.Action.EVIDENCE_LEGAL_HOLD, evidence_id)
    state = evidence_state(session, ev.id)
    if state.status == "disposed":
        raise InvalidState(f"evidence {ev.id} has been disposed of")
    until = aware(body.until)
    current = retained_until(ev, state)
    if until <= current:
        raise InvalidState(
            f"retention of {ev.id} already runs until {current.isoformat()}; it can be "
            "extended but never shortened"
        )
    lock = ctx.store.set_retention(ev.object_key, ev.object_version, until)
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
    dependencies=[guard(policy.Action.EVIDENCE_DISPOSE_REQUEST)],
    responses=problems(404, 409),
)
def request_disposal(
    evidence_id: str, body: ReasonBody, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """Register a disposal (销毁登记); a second account must approve it."""
    ev, _ = authorized_evidence(
        session, account, policy.Action.EVIDENCE_DISPOSE_REQUEST, evidence_id
    )
    state = evidence_state(session, ev.id)
    if state.status != "in_custody":
        raise InvalidState(f"evidence {ev.id} is {state.status}; disposal cannot be requested")
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
    dependencies=[guard(policy.Action.EVIDENCE_DISPOSE_APPROVE)],
    responses=problems(404, 409, 502),
)
def approve_disposal(
    evidence_id: str, body: ReasonBody, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> EvidencePublic:
    """A second person approves; the content is removed, the record and history remain."""
    ev, _ = authorized_evidence(
        session, account, policy.Action.EVIDENCE_DISPOSE_APPROVE, evidence_id
    )
    state = evidence_state(session, ev.id)
    if state.pending_disposal is None or state.status != "disposal_requested":
        raise InvalidState(f"evidence {ev.id} has no pending disposal request")
    if state.pending_disposal.requested_by == account.name:
        raise PermissionDenied("the approver must be a different person from the requester")
    now = utc_now()
    if retained_until(ev, state) > now:
        raise InvalidState(
            f"evidence {ev.id} is retained until {retained_until(ev, state).isoformat()}; "
            "disposal is possible only after retention has expired"
        )
    if state.legal_hold:
        raise InvalidState(f"evidence {ev.id} is under a legal hold; it cannot be disposed of")
    record_touch(
        session,
        account,
        Action.DISPOSAL_APPROVED,
        ev,
        {"request_id": state.pending_disposal.request_id, "reason": body.reason},
    )
    session.commit()
    others = [
        other
        for other in session.execute(
            select(Evidence).where(
                col(Evidence.object_key) == ev.object_key, col(Evidence.id) != ev.id
            )
        ).scalars()
        if evidence_state(session, other.id).status != "disposed"
    ]
    if not others:
        ctx.store.delete(ev.object_key, ev.object_version)
    record_touch(
        session,
        account,
        Action.DISPOSED,
        ev,
        {
            "request_id": state.pending_disposal.request_id,
            "content_removed": not others,
            "shared_with": [o.id for o in others],
            "digests": json.loads(ev.digests),
        },
    )
    session.commit()
    return evidence_public(session, ev)
