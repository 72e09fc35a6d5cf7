"""Classified-material procedures: classification decisions, borrowing, copies, destruction.

Every step is a ledger entry on the case's chain; every refusal by the rules is recorded
too. The state a step is decided on is folded from the ledger under the ledger lock
(custody.secrecy), so of two racing approvals exactly one counts and a copy number is never
handed out twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import col

from api.authz import authorize, principal_of, record_denial, visible_case
from api.deps import AccountDep, CaseNumberPath, ContextDep, SessionDep, guard
from api.openapi import problems
from api.routers.custody_ops import locked_state, remove_content
from api.schemas import (
    BorrowingCreate,
    ClassificationProposal,
    DestructionCreate,
    ReasonBody,
    WitnessBody,
)
from api.services import secrecy
from api.services.evidence_view import evidence_state, intake_of, retained_until
from api.services.register import register_csv, register_pdf, register_value
from custody import ledger_store, policy, transitions
from custody.db import aware
from custody.errors import InputError, PermissionDenied, UnknownAccount
from custody.ledger import Action, EntryDraft, rfc3339, utc_now
from custody.models import Account, Case, Evidence, LedgerEntry
from custody.secrecy import CaseSecrecy, parse_period, rules
from custody.secrecy.record import BorrowingRecord, DestructionList
from custody.state import EvidenceStatus

router = APIRouter(prefix="/api/v1", tags=["classified"])
P = policy.Permission
Id = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


@contextmanager
def _recorded(session: SessionDep, account: Account, perm: P, case: Case) -> Iterator[None]:
    """A refusal by the procedure's rules is recorded on the case's chain like any other."""
    try:
        yield
    except PermissionDenied as e:
        record_denial(session, account, perm, e.message, case=case.number)
        raise


def _locked(session: SessionDep, case: Case) -> CaseSecrecy:
    ledger_store.lock_head(session)
    return secrecy.load(session, case.number)


def _append(
    session: SessionDep,
    account: Account,
    action: Action,
    case: Case,
    details: dict[str, Any],
    evidence: str | None = None,
) -> None:
    ledger_store.append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=action,
            case=case.number,
            evidence=evidence,
            details=details,
        ),
    )


def _open(session: SessionDep, account: Account, perm: P, number: str) -> Case:
    case = visible_case(session, number)
    authorize(session, account, perm, case=case)
    return case


def borrowing_json(b: BorrowingRecord, case: str, now: datetime) -> dict[str, Any]:
    ended = b.ended_at(now)
    return {
        "id": b.id,
        "case": case,
        "account": b.account,
        "department": b.department,
        "items": list(b.items) if b.items is not None else "all",
        "permissions": list(b.permissions),
        "purpose": b.purpose,
        "starts_at": b.starts_at.isoformat(),
        "ends_at": b.ends_at.isoformat(),
        "needs_owner_approval": b.needs_owner,
        "status": b.status(now),
        "requested": b.requested.to_json(),
        "approved_by_requester_leader": b.by_requester_leader.to_json()
        if b.by_requester_leader
        else None,
        "approved_by_owner_leader": b.by_owner_leader.to_json() if b.by_owner_leader else None,
        "rejected": b.rejected.to_json() if b.rejected else None,
        "returned": b.returned.to_json() if b.returned else None,
        "access_ended_at": ended.isoformat() if ended else None,
    }


def destruction_json(dl: DestructionList, case: str) -> dict[str, Any]:
    return {
        "id": dl.id,
        "case": case,
        "items": list(dl.items),
        "reason": dl.reason,
        "place": dl.place,
        "witness": dl.witness,
        "status": dl.status(),
        "proposed": dl.proposed.to_json(),
        "approved": dl.approved.to_json() if dl.approved else None,
        "rejected": dl.rejected.to_json() if dl.rejected else None,
        "witnessed": dl.witnessed.to_json() if dl.witnessed else None,
    }


# --- classification decisions (定密, 升密, 降密, 解密) ---------------------------------------


@router.post(
    "/cases/{number}/classification/proposals",
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
    dependencies=[guard(P.CLASSIFICATION_PROPOSE)],
    responses=problems(403, 404, 409),
)
def propose_classification(
    number: CaseNumberPath, body: ClassificationProposal, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """The handler proposes a level, a period and its basis; a leader decides."""
    case = _open(session, account, P.CLASSIFICATION_PROPOSE, number)
    level = policy.parse_level(body.level)
    period = parse_period(body.period) if body.period else None
    state = _locked(session, case)
    with _recorded(session, account, P.CLASSIFICATION_PROPOSE, case):
        kind = rules.propose_classification(
            state,
            principal_of(account),
            level=level,
            period=period,
            basis=body.basis,
            now=utc_now(),
        )
    proposal_id = str(uuid.uuid4())
    _append(
        session,
        account,
        Action.CLASSIFICATION_PROPOSED,
        case,
        {
            "proposal_id": proposal_id,
            "kind": kind,
            "level": level.value,
            "period": period.to_json() if period else None,
            "basis": body.basis,
            "reason": body.reason,
            "from_level": state.classification.level.value,
        },
    )
    session.commit()
    return {"id": proposal_id, "kind": kind, "level": level.value, "status": "proposed"}


@router.post(
    "/cases/{number}/classification/proposals/{proposal_id}/{decision}",
    response_model=dict[str, Any],
    dependencies=[guard(P.CLASSIFICATION_APPROVE)],
    responses=problems(403, 404, 409),
)
def decide_classification(
    number: CaseNumberPath,
    proposal_id: Id,
    decision: Literal["approve", "reject"],
    body: ReasonBody,
    session: SessionDep,
    account: AccountDep,
) -> dict[str, Any]:
    """The owning department's leader approves (the level changes now) or rejects."""
    case = _open(session, account, P.CLASSIFICATION_APPROVE, number)
    state = _locked(session, case)
    with _recorded(session, account, P.CLASSIFICATION_APPROVE, case):
        p = rules.decide_classification(state, proposal_id, principal_of(account))
    approved = decision == "approve"
    _append(
        session,
        account,
        Action.CLASSIFICATION_APPROVED if approved else Action.CLASSIFICATION_REJECTED,
        case,
        {"proposal_id": p.id, "reason": body.reason},
    )
    if approved:  # the row is an index of the ledger's level, kept for listings
        case.classification = p.level.value
        session.add(case)
    session.commit()
    return {"id": p.id, "kind": p.kind, "status": "approved" if approved else "rejected"}


# --- borrowing (借阅) ------------------------------------------------------------------------


@router.post(
    "/cases/{number}/borrowings",
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
    dependencies=[guard(P.BORROW_REQUEST)],
    responses=problems(403, 404, 409),
)
def request_borrowing(
    number: CaseNumberPath, body: BorrowingCreate, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Fill in a borrowing slip: items or all, permissions, the work need and the period."""
    case = _open(session, account, P.BORROW_REQUEST, number)
    now = utc_now()
    perms = sorted({policy.parse_grant_permission(p) for p in body.permissions})
    starts = aware(body.starts_at) if body.starts_at else now
    ends = aware(body.ends_at)
    state = _locked(session, case)
    rules.check_borrowing_request(
        state,
        items=body.items,
        permissions=perms,
        purpose=body.purpose,
        starts_at=starts,
        ends_at=ends,
        now=now,
    )
    borrowing_id = str(uuid.uuid4())
    _append(
        session,
        account,
        Action.BORROWING_REQUESTED,
        case,
        {
            "borrowing_id": borrowing_id,
            "items": sorted(set(body.items)) if body.items is not None else "all",
            "permissions": [p.value for p in perms],
            "purpose": body.purpose,
            "starts_at": rfc3339(starts),
            "ends_at": rfc3339(ends),
            "level": state.classification.level.value,
            "needs_owner_approval": state.classification.level >= policy.Level.CONFIDENTIAL
            and account.department != state.department,
        },
    )
    session.commit()
    state = secrecy.load(session, case.number)
    return borrowing_json(state.borrowings[borrowing_id], case.number, utc_now())


@router.post(
    "/cases/{number}/borrowings/{borrowing_id}/{step}",
    response_model=dict[str, Any],
    dependencies=[guard(P.BORROW_RETURN)],
    responses=problems(403, 404, 409),
)
def borrowing_step(
    number: CaseNumberPath,
    borrowing_id: Id,
    step: Literal["approve", "reject", "return"],
    body: ReasonBody,
    session: SessionDep,
    account: AccountDep,
) -> dict[str, Any]:
    """A leader approves or rejects; the borrower (or a leader) returns it, ending access."""
    perm = P.BORROW_RETURN if step == "return" else P.BORROW_APPROVE
    case = _open(session, account, perm, number)
    now = utc_now()
    who = principal_of(account)
    state = _locked(session, case)
    with _recorded(session, account, perm, case):
        if step == "approve":
            b, capacities = rules.approve_borrowing(state, borrowing_id, who, now)
            details: dict[str, Any] = {"borrowing_id": b.id, "as": capacities}
            action = Action.BORROWING_APPROVED
        elif step == "reject":
            b = rules.reject_borrowing(state, borrowing_id, who, now)
            details, action = {"borrowing_id": b.id}, Action.BORROWING_REJECTED
        else:
            b = rules.return_borrowing(state, borrowing_id, who, now)
            details, action = {"borrowing_id": b.id}, Action.BORROWING_RETURNED
    _append(session, account, action, case, {**details, "reason": body.reason})
    session.commit()
    state = secrecy.load(session, case.number)
    return borrowing_json(state.borrowings[borrowing_id], case.number, utc_now())


@router.get(
    "/borrowings",
    response_model=list[dict[str, Any]],
    dependencies=[guard(P.BORROW_LIST)],
)
def list_borrowings(
    session: SessionDep,
    account: AccountDep,
    state_filter: Annotated[
        Literal["all", "pending", "active", "approved", "overdue", "returned", "rejected"],
        Query(alias="status"),
    ] = "all",
) -> list[dict[str, Any]]:
    """Borrowings the caller made; a leader also sees its department's and its cases'."""
    cases = session.execute(
        select(col(LedgerEntry.case_number))
        .where(col(LedgerEntry.action) == Action.BORROWING_REQUESTED.value)
        .distinct()
    ).scalars()
    now = utc_now()
    leader = account.role == policy.Role.LEADER.value
    out = []
    for number in sorted(n for n in cases if n is not None):
        state = secrecy.load(session, number)
        for b in state.borrowings.values():
            mine = b.account == account.name
            led = leader and account.department in (b.department, state.department)
            if (mine or led) and state_filter in ("all", b.status(now)):
                out.append(borrowing_json(b, number, now))
    return out


# --- the register (借阅登记簿) and numbered copies (复制) ------------------------------------


@router.get(
    "/cases/{number}/register",
    dependencies=[guard(P.REGISTER_READ)],
    responses={
        200: {
            "description": "The borrowing register: JSON, CSV (UTF-8 BOM) or PDF",
            "content": {"text/csv": {}, "application/pdf": {}},
        },
        **problems(403, 404),
    },
)
def register(
    number: CaseNumberPath,
    session: SessionDep,
    account: AccountDep,
    fmt: Annotated[Literal["json", "csv", "pdf"], Query(alias="format")] = "json",
) -> Response:
    """Every request, who approved it and when, what was accessed, when access ended; copies."""
    case = _open(session, account, P.REGISTER_READ, number)
    state = secrecy.load(session, case.number, full=True)
    value = register_value(state, case.title, utc_now(), account.name)
    _append(session, account, Action.VIEW, case, {"viewed": "register", "format": fmt})
    session.commit()
    if fmt == "csv":
        return Response(
            register_csv(value),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="register-{case.number}.csv"'},
        )
    if fmt == "pdf":
        return Response(
            register_pdf(value),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="register-{case.number}.pdf"'},
        )
    return Response(json.dumps(value, ensure_ascii=False), media_type="application/json")


@router.post(
    "/cases/{number}/copies/{copy_no}/destroyed",
    response_model=dict[str, Any],
    dependencies=[guard(P.COPY_DESTROY)],
    responses=problems(403, 404, 409),
)
def destroy_copy(
    number: CaseNumberPath,
    copy_no: Annotated[int, Path(ge=1, le=10**9)],
    body: ReasonBody,
    session: SessionDep,
    account: AccountDep,
) -> dict[str, Any]:
    """Record that numbered copy 第 N 份 was destroyed (by its holder or a leader)."""
    case = _open(session, account, P.COPY_DESTROY, number)
    state = _locked(session, case)
    with _recorded(session, account, P.COPY_DESTROY, case):
        rules.destroy_copy(state, copy_no, principal_of(account))
    _append(
        session, account, Action.COPY_DESTROYED, case, {"copy_no": copy_no, "reason": body.reason}
    )
    session.commit()
    return {"case": case.number, "copy_no": copy_no, "destroyed_by": account.name}


# --- destruction (销毁) ----------------------------------------------------------------------


@router.post(
    "/cases/{number}/destructions",
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
    dependencies=[guard(P.DESTRUCTION_PROPOSE)],
    responses=problems(403, 404, 409),
)
def propose_destruction(
    number: CaseNumberPath, body: DestructionCreate, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Register the items for destruction (登记造册), naming the place and the witness."""
    case = _open(session, account, P.DESTRUCTION_PROPOSE, number)
    witness = session.get(Account, body.witness)
    if witness is None:
        raise UnknownAccount(f"account {body.witness!r} (the witness) does not exist")
    items = sorted(set(body.items))
    state = _locked(session, case)
    with _recorded(session, account, P.DESTRUCTION_PROPOSE, case):
        rules.propose_destruction(
            state,
            principal_of(account),
            items=items,
            witness=principal_of(witness),
            place=body.place,
        )
    list_id = str(uuid.uuid4())
    for evidence_id in items:  # each item is registered for disposal on its own history too
        transitions.request_disposal(locked_state(session, evidence_id), evidence_id)
        _append(
            session,
            account,
            Action.DISPOSAL_REQUESTED,
            case,
            {"request_id": list_id, "destruction_list": list_id, "reason": body.reason},
            evidence=evidence_id,
        )
    _append(
        session,
        account,
        Action.DESTRUCTION_PROPOSED,
        case,
        {
            "list_id": list_id,
            "items": items,
            "reason": body.reason,
            "place": body.place,
            "witness": witness.name,
        },
    )
    session.commit()
    return destruction_json(secrecy.load(session, case.number).destructions[list_id], case.number)


@router.post(
    "/cases/{number}/destructions/{list_id}/witness",
    response_model=dict[str, Any],
    dependencies=[guard(P.DESTRUCTION_WITNESS)],
    responses=problems(403, 404, 409, 502),
)
def witness_destruction(
    number: CaseNumberPath,
    list_id: Id,
    body: WitnessBody,
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
) -> dict[str, Any]:
    """The named witness confirms at the designated place; only then is the content deleted.

    Repeating the call after a storage failure retries the deletion of what remains.
    """
    case = _open(session, account, P.DESTRUCTION_WITNESS, number)
    state = _locked(session, case)
    dl = state.destructions.get(list_id)
    retry = dl is not None and dl.status() == "witnessed" and dl.witness == account.name
    if not retry:
        with _recorded(session, account, P.DESTRUCTION_WITNESS, case):
            dl = rules.witness_destruction(state, list_id, principal_of(account), body.place)
        assert dl is not None
        _append(
            session,
            account,
            Action.DESTRUCTION_WITNESSED,
            case,
            {"list_id": dl.id, "place": body.place, "statement": body.statement},
        )
    session.commit()
    assert dl is not None
    for evidence_id in dl.items:
        ev = session.get(Evidence, evidence_id)
        if ev is None:
            raise InputError(f"item {evidence_id} has no evidence row; restore it first")
        if evidence_state(session, evidence_id).status == EvidenceStatus.DISPOSAL_APPROVED:
            remove_content(ctx, session, account, ev)
    return destruction_json(secrecy.load(session, case.number).destructions[dl.id], case.number)


@router.post(
    "/cases/{number}/destructions/{list_id}/{decision}",
    response_model=dict[str, Any],
    dependencies=[guard(P.DESTRUCTION_APPROVE)],
    responses=problems(403, 404, 409),
)
def decide_destruction(
    number: CaseNumberPath,
    list_id: Id,
    decision: Literal["approve", "reject"],
    body: ReasonBody,
    session: SessionDep,
    account: AccountDep,
) -> dict[str, Any]:
    """A leader of the owning department approves the list (retention and holds checked)."""
    case = _open(session, account, P.DESTRUCTION_APPROVE, number)
    state = _locked(session, case)
    with _recorded(session, account, P.DESTRUCTION_APPROVE, case):
        dl = rules.decide_destruction(state, list_id, principal_of(account))
    now = utc_now()
    for evidence_id in dl.items:
        item_state = locked_state(session, evidence_id)
        if decision == "approve":
            record = intake_of(session, evidence_id)
            transitions.approve_disposal(
                item_state,
                evidence_id,
                by=account.name,
                now=now,
                retained_until=retained_until(record, item_state),
            )
            action = Action.DISPOSAL_APPROVED
        else:
            action = Action.DISPOSAL_WITHDRAWN
        _append(
            session,
            account,
            action,
            case,
            {"request_id": dl.id, "destruction_list": dl.id, "reason": body.reason},
            evidence=evidence_id,
        )
    _append(
        session,
        account,
        Action.DESTRUCTION_APPROVED if decision == "approve" else Action.DESTRUCTION_REJECTED,
        case,
        {"list_id": dl.id, "reason": body.reason},
    )
    session.commit()
    return destruction_json(secrecy.load(session, case.number).destructions[dl.id], case.number)
