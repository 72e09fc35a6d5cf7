"""Authorization at the adapter: every case-scoped request goes through custody.policy.

A denial is itself a ledger entry (DESIGN §3.5), committed in its own transaction so that
the refusal is recorded even though the request changes nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from api.services import secrecy
from custody import policy
from custody.db import aware
from custody.errors import PermissionDenied, UnknownCase, UnknownEvidence
from custody.ledger import Action, EntryDraft, utc_now
from custody.ledger_store import append
from custody.models import Account, Case, Evidence, Grant


def principal_of(account: Account) -> policy.Principal:
    return policy.Principal(
        account=account.name,
        role=policy.parse_role(account.role),
        department=account.department,
        clearance=policy.parse_level(account.clearance),
        active=account.active,
    )


def scope_of(session: Session, case: Case) -> policy.CaseScope:
    """The case as the ledger records it (department, level), not as its row says."""
    return secrecy.scope(session, case)[0]


def grants_of(session: Session, account: str, case: str | None = None) -> list[policy.Grant]:
    query = select(Grant).where(col(Grant.account_name) == account)
    if case is not None:
        query = query.where(col(Grant.case_number) == case)
    rows: Sequence[Grant] = session.execute(query).scalars().all()
    return [
        policy.Grant(
            case=g.case_number,
            account=g.account_name,
            permissions=frozenset(
                policy.parse_grant_permission(p) for p in g.permissions.split(",") if p
            ),
            granted_by=g.granted_by,
            expires_at=aware(g.expires_at) if g.expires_at else None,
            revoked=g.revoked_at is not None,
        )
        for g in rows
    ]


def record_denial(
    session: Session,
    account: Account,
    action: policy.Permission,
    reason: str,
    *,
    case: str | None = None,
    evidence: str | None = None,
    purpose: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Record a refusal in its own transaction (the request's own work is rolled back).

    ``case`` must name a case that exists: a case-scoped entry joins that case's chain. A
    refusal about a number that does not exist, or that the caller may not learn about,
    passes ``case=None`` and puts the number in ``details``.
    """
    session.rollback()
    append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.ACCESS_DENIED,
            case=case,
            evidence=evidence,
            details={
                "attempted": str(action),
                "reason": reason,
                **({"purpose": purpose} if purpose else {}),
                **(details or {}),
            },
        ),
    )
    session.commit()


def authorize(
    session: Session,
    account: Account,
    action: policy.Permission,
    *,
    case: Case | None = None,
    evidence: str | None = None,
    purpose: str | None = None,
) -> policy.Decision:
    """Allow or refuse (and record the refusal); raises PermissionDenied when refused."""
    principal = principal_of(account)
    grants = grants_of(session, account.name, case.number if case else None)
    scope, borrowings = secrecy.scope(session, case) if case else (None, ())
    decision = policy.decide(
        principal=principal,
        action=action,
        case=scope,
        grants=grants,
        borrowings=borrowings,
        evidence=evidence,
        now=utc_now(),
    )
    if not decision.allowed:
        record_denial(
            session,
            account,
            action,
            decision.reason,
            case=case.number if case else None,
            evidence=evidence,
            purpose=purpose,
        )
        if decision.hide_existence and evidence is not None:
            raise UnknownEvidence(not_found_message("evidence", evidence))
        if decision.hide_existence and case is not None:
            raise UnknownCase(not_found_message("case", case.number))
        raise PermissionDenied(decision.reason)
    return decision


def not_found_message(kind: str, ident: str) -> str:
    """One wording for 'absent' and 'hidden', so a refusal does not reveal existence."""
    return f"{kind} {ident!r} does not exist or you have no access to it; check the {kind} id"


def authorized_evidence(
    session: Session,
    account: Account,
    action: policy.Permission,
    evidence_id: str,
    *,
    purpose: str | None = None,
) -> tuple[Evidence, Case]:
    """Load an evidence item and its case, and decide ``action`` on it (recording refusals)."""
    ev = get_evidence(session, evidence_id)
    case = visible_case(session, ev.case_number)
    authorize(session, account, action, case=case, evidence=ev.id, purpose=purpose)
    return ev, case


def get_evidence(session: Session, evidence_id: str) -> Evidence:
    """The evidence row, or UnknownEvidence (authorization is checked separately)."""
    row = session.get(Evidence, evidence_id)
    if row is None:
        raise UnknownEvidence(not_found_message("evidence", evidence_id))
    return row


def visible_case(session: Session, number: str) -> Case:
    """The case if it exists; UnknownCase otherwise (authorization is checked separately)."""
    case = session.get(Case, number)
    if case is None:
        raise UnknownCase(not_found_message("case", number))
    return case


def require_purpose(action: policy.Permission, purpose: str | None) -> str | None:
    if policy.purpose_required(action) and not (purpose and purpose.strip()):
        from custody.errors import InputError

        raise InputError(
            f"{action} requires a stated purpose (the register of borrowing); "
            "pass purpose=… (CLI: --purpose)"
        )
    return purpose.strip() if purpose else None
