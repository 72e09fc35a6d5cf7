"""The confidentiality rules (保密制度) for each step of a procedure, decided purely.

custody.policy says whether an account's role and clearance let it attempt a step at all;
these functions say whether *this* step may be taken by *this* account now, given the case's
state folded from its ledger entries (custody.secrecy.record). Each raises PermissionDenied
(the wrong person) or InvalidState (the wrong moment) with a reason fit for the ledger, or
returns what the entry must record. The service calls them under the ledger lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from custody.errors import InputError, InvalidState, PermissionDenied, UnknownProcedureRecord
from custody.policy import GrantPermission, Level, Principal, Role
from custody.secrecy.marking import LEVEL_ZH, SecrecyPeriod
from custody.secrecy.record import BorrowingRecord, CaseSecrecy, DestructionList, Proposal

__all__ = [
    "BORROWABLE_PERMISSIONS",
    "approve_borrowing",
    "change_kind",
    "check_borrowing_request",
    "check_classification",
    "decide_classification",
    "decide_destruction",
    "destroy_copy",
    "propose_classification",
    "propose_destruction",
    "return_borrowing",
    "witness_destruction",
]

BORROWABLE_PERMISSIONS = frozenset(
    {GrantPermission.VIEW, GrantPermission.DOWNLOAD, GrantPermission.EXPORT}
)


def _leader(who: Principal, what: str) -> None:
    if who.role is not Role.LEADER:
        raise PermissionDenied(
            f"only a department leader (部门负责人) may {what}; role {who.role.value} may not"
        )


def _cleared(who: Principal, level: Level, what: str) -> None:
    if who.clearance < level:
        raise PermissionDenied(
            f"clearance {who.clearance.value} is below {level.value}: {who.account} cannot {what}"
        )


def check_classification(
    level: Level, period: SecrecyPeriod | None, basis: str, now: datetime
) -> None:
    """A classified level needs a period within the legal maximum and a basis (定密依据)."""
    if not level.classified:
        if period is not None:
            raise InputError(f"level {level.value} is not classified: give no secrecy period")
        return
    if period is None:
        raise InputError(
            f"a {LEVEL_ZH[level]} case needs a secrecy period (保密期限): years or an end date"
        )
    period.check_for(level, now)
    if not basis.strip():
        raise InputError(
            f"a {LEVEL_ZH[level]} classification needs its basis (定密依据): name the rule"
        )


def change_kind(current: Level, new: Level) -> str:
    """定密 (first), 升密 (raise), 降密 (lower, still classified) or 解密 (declassify)."""
    if not current.classified:
        return "定密"
    if not new.classified:
        return "解密"
    return "升密" if new > current else "降密"


def propose_classification(
    state: CaseSecrecy,
    who: Principal,
    *,
    level: Level,
    period: SecrecyPeriod | None,
    basis: str,
    now: datetime,
) -> str:
    """A handler of the owning department proposes; returns the kind of change."""
    if who.department != state.department:
        raise PermissionDenied(
            f"classification of case {state.number} is proposed by its own department "
            f"({state.department})"
        )
    pending = state.open_proposal()
    if pending is not None:
        raise InvalidState(
            f"proposal {pending.id} ({pending.kind}) awaits its leader; decide it first"
        )
    check_classification(level, period, basis, now)
    c = state.classification
    if level == c.level and period == c.period:
        raise InvalidState(f"case {state.number} is already {level.value} with that period")
    _cleared(who, max(level, c.level), "handle this classification")
    return change_kind(c.level, level)


def decide_classification(state: CaseSecrecy, proposal_id: str, who: Principal) -> Proposal:
    """The owning department's leader, not the proposer, approves or rejects."""
    p = state.proposals.get(proposal_id)
    if p is None:
        raise UnknownProcedureRecord(
            f"case {state.number} has no classification proposal {proposal_id!r}"
        )
    if not p.open:
        raise InvalidState(f"proposal {proposal_id} was already decided")
    _leader(who, "approve a classification (定密审批)")
    if who.department != state.department:
        raise PermissionDenied(
            f"the classification of case {state.number} is decided by the leader of its own "
            f"department ({state.department}), not of {who.department}"
        )
    if who.account == p.proposed.actor:
        raise PermissionDenied("the proposer cannot approve their own classification proposal")
    _cleared(who, max(p.level, state.classification.level), "decide this classification")
    return p


def check_borrowing_request(
    state: CaseSecrecy,
    *,
    items: Sequence[str] | None,
    permissions: Sequence[GrantPermission],
    purpose: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> None:
    """A borrowing names its items (or all), permissions, a work need and a window."""
    if not state.classified:
        raise InvalidState(
            f"case {state.number} is not classified: it is opened with a grant, not a borrowing"
        )
    unknown = sorted(set(permissions) - BORROWABLE_PERMISSIONS)
    if unknown:
        raise InputError(
            f"a borrowing may name view, download and export, not {', '.join(unknown)}"
        )
    if not purpose.strip():
        raise InputError("a borrowing states its work need (purpose); nobody borrows without one")
    if ends_at <= starts_at or ends_at <= now:
        raise InputError("the borrowing's period must end after it starts, in the future")
    if items is not None:
        if not items:
            raise InputError("name at least one item, or borrow all items")
        missing = sorted(set(items) - set(state.items))
        if missing:
            raise InputError(f"case {state.number} holds no item(s) {', '.join(missing)}")


def _borrowing(state: CaseSecrecy, borrowing_id: str) -> BorrowingRecord:
    b = state.borrowings.get(borrowing_id)
    if b is None:
        raise UnknownProcedureRecord(f"case {state.number} has no borrowing {borrowing_id!r}")
    return b


def approve_borrowing(
    state: CaseSecrecy, borrowing_id: str, who: Principal, now: datetime
) -> tuple[BorrowingRecord, list[str]]:
    """Which capacities this leader's approval fills: the requester's department, the owner's.

    The leader of the borrower's own department signs the slip; for 机密 and 绝密 the leader
    of the department that owns the case signs as well (one leader fills both when the two
    departments are one). Returns the record and the capacities; refuses the wrong leader.
    """
    b = _borrowing(state, borrowing_id)
    _leader(who, "approve a borrowing (借阅审批)")
    if b.rejected is not None or b.returned is not None:
        raise InvalidState(f"borrowing {b.id} is {b.status(now)}; it cannot be approved")
    if b.ends_at <= now:
        raise InvalidState(f"borrowing {b.id}'s period is over; a new request is needed")
    if who.account == b.account:
        raise PermissionDenied("nobody approves their own borrowing")
    _cleared(who, state.classification.level, "approve this borrowing")
    capacities = []
    if who.department == b.department and b.by_requester_leader is None:
        capacities.append("requester_department")
    if b.needs_owner and who.department == state.department and b.by_owner_leader is None:
        capacities.append("owner_department")
    if not capacities:
        if b.approved:
            raise InvalidState(f"borrowing {b.id} is already approved")
        wanted = f"the leader of the borrower's department ({b.department})"
        if b.needs_owner:
            wanted += f" and the leader of the owning department ({state.department})"
        raise PermissionDenied(
            f"borrowing {b.id} needs {wanted}; a leader of {who.department} cannot approve it"
            + (" again" if who.department in (b.department, state.department) else "")
        )
    return b, capacities


def reject_borrowing(
    state: CaseSecrecy, borrowing_id: str, who: Principal, now: datetime
) -> BorrowingRecord:
    """Either leader who could approve may reject, while the request is still open."""
    b = _borrowing(state, borrowing_id)
    _leader(who, "reject a borrowing")
    if b.approved or b.rejected is not None or b.returned is not None:
        raise InvalidState(f"borrowing {b.id} is {b.status(now)}; it can no longer be rejected")
    if who.department not in (b.department, state.department):
        raise PermissionDenied(
            f"borrowing {b.id} is decided by the leaders of {b.department} and "
            f"{state.department}, not of {who.department}"
        )
    return b


def return_borrowing(
    state: CaseSecrecy, borrowing_id: str, who: Principal, now: datetime
) -> BorrowingRecord:
    """The borrower, or a leader of either department, ends an approved borrowing early."""
    b = _borrowing(state, borrowing_id)
    leader_here = who.role is Role.LEADER and who.department in (b.department, state.department)
    if who.account != b.account and not leader_here:
        raise PermissionDenied(
            f"borrowing {b.id} is returned by its borrower ({b.account}) or a leader of "
            f"{b.department} or {state.department}"
        )
    if b.returned is not None:
        raise InvalidState(f"borrowing {b.id} was already returned")
    if b.rejected is not None:
        raise InvalidState(f"borrowing {b.id} was rejected; there is nothing to return")
    return b


def destroy_copy(state: CaseSecrecy, number: int, who: Principal) -> None:
    """The holder, or a leader of the owning department, records a copy's destruction."""
    copy = state.copies.get(number)
    if copy is None:
        raise UnknownProcedureRecord(f"case {state.number} has no copy 第 {number} 份")
    if copy.destroyed is not None:
        raise InvalidState(f"copy 第 {number} 份 was already recorded as destroyed")
    leader_here = who.role is Role.LEADER and who.department == state.department
    if who.account != copy.holder and not leader_here:
        raise PermissionDenied(
            f"copy 第 {number} 份 is held by {copy.holder}; its destruction is recorded by the "
            f"holder or a leader of {state.department}"
        )


def propose_destruction(
    state: CaseSecrecy,
    who: Principal,
    *,
    items: Sequence[str],
    witness: Principal,
    place: str,
) -> None:
    """Register the items (登记造册) with a named supervising witness and the place."""
    if who.department != state.department:
        raise PermissionDenied(
            f"a destruction list for case {state.number} is drawn up by its own department"
        )
    if not items:
        raise InputError("a destruction list names at least one item")
    missing = sorted(set(items) - set(state.items))
    if missing:
        raise InputError(f"case {state.number} holds no item(s) {', '.join(missing)}")
    if not place.strip():
        raise InputError("name the designated place of destruction (销毁地点)")
    for dl in state.destructions.values():
        if dl.status() in ("proposed", "approved") and set(dl.items) & set(items):
            raise InvalidState(f"destruction list {dl.id} already names some of these items")
    if witness.account == who.account:
        raise PermissionDenied("the supervising witness must be another person than the proposer")
    if witness.role is Role.ADMIN or not witness.active:
        raise PermissionDenied(
            f"account {witness.account} cannot supervise a destruction (administrators manage "
            "accounts only; the witness must be an active account)"
        )
    _cleared(witness, state.classification.level, "supervise this destruction")


def _list(state: CaseSecrecy, list_id: str) -> DestructionList:
    dl = state.destructions.get(list_id)
    if dl is None:
        raise UnknownProcedureRecord(f"case {state.number} has no destruction list {list_id!r}")
    return dl


def decide_destruction(state: CaseSecrecy, list_id: str, who: Principal) -> DestructionList:
    """A leader of the owning department, not the proposer, approves or rejects the list."""
    dl = _list(state, list_id)
    _leader(who, "approve a destruction list (销毁审批)")
    if who.department != state.department:
        raise PermissionDenied(
            f"destruction list {dl.id} is approved by a leader of {state.department}, "
            f"not of {who.department}"
        )
    if who.account == dl.proposed.actor:
        raise PermissionDenied("the proposer cannot approve their own destruction list")
    if dl.status() != "proposed":
        raise InvalidState(f"destruction list {dl.id} is {dl.status()}; it was already decided")
    if who.account == dl.witness:
        raise PermissionDenied("the named witness cannot also approve the destruction")
    return dl


def witness_destruction(
    state: CaseSecrecy, list_id: str, who: Principal, place: str
) -> DestructionList:
    """Only the named witness confirms, after approval, at the designated place."""
    dl = _list(state, list_id)
    if who.account != dl.witness:
        raise PermissionDenied(
            f"destruction list {dl.id} names {dl.witness} as its supervising witness; "
            f"{who.account} cannot confirm it"
        )
    if dl.status() != "approved":
        raise InvalidState(
            f"destruction list {dl.id} is {dl.status()}: it is witnessed only once a leader "
            "has approved it"
        )
    if place.strip() and place.strip() != dl.place:
        raise InvalidState(
            f"destruction list {dl.id} names the place {dl.place!r}; destruction elsewhere "
            "needs a new list"
        )
    return dl
