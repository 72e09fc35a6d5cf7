"""A classified case's procedures as its ledger entries record them: one fold, no table.

The ledger is the record: the classification decision, every borrowing and its approvals,
every numbered copy and every destruction list are read back from the case's hash-chained
entries, so an insider who edits a database row changes none of them. The service calls
:meth:`CaseSecrecy.fold` before each decision; the register and the verifier use it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.ledger import Action, parse_rfc3339
from custody.policy import Borrowing, GrantPermission, Level, parse_level
from custody.secrecy.marking import SecrecyPeriod, mark

__all__ = [
    "Access",
    "BorrowingRecord",
    "CaseSecrecy",
    "Classification",
    "CopyRecord",
    "DestructionList",
    "Proposal",
    "Step",
]

INITIAL = "initial"
"""The id of the classification proposed with ``case.created`` (定密 at creation)."""

ACCESS_ACTIONS = frozenset(
    {Action.VIEW, Action.DOWNLOAD, Action.VERIFICATION, Action.EXPORT, Action.DOWNLOAD_ENDED}
)


@dataclass(frozen=True, kw_only=True)
class Step:
    """Who took one step of a procedure, when, in which capacity, and where on the ledger."""

    actor: str
    department: str
    time: datetime
    seq: int
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "department": self.department,
            "time": self.time.isoformat(),
            "seq": self.seq,
            **({"note": self.note} if self.note else {}),
        }


def _step(entry: Mapping[str, Any], note: str = "") -> Step:
    return Step(
        actor=str(entry["actor"]),
        department=str(entry["department"]),
        time=parse_rfc3339(str(entry["time"])),
        seq=int(entry["seq"]),
        note=note,
    )


@dataclass(kw_only=True)
class Proposal:
    """A proposed classification (定密, 升密, 降密 or 解密) awaiting a leader's decision."""

    id: str
    level: Level
    period: SecrecyPeriod | None
    basis: str
    reason: str
    kind: str
    proposed: Step
    approved: Step | None = None
    rejected: Step | None = None

    @property
    def open(self) -> bool:
        return self.approved is None and self.rejected is None


@dataclass(frozen=True, kw_only=True)
class Classification:
    """The case's classification in force: level, period, basis, who proposed and approved."""

    level: Level
    period: SecrecyPeriod | None
    basis: str
    proposer: str
    approver: str | None  # None while the initial decision awaits its leader
    since: datetime  # the period runs from the decision

    @property
    def mark(self) -> str | None:
        return mark(self.level, self.period)

    def ends(self) -> datetime | None:
        return self.period.ends(self.since) if self.period is not None else None

    def review_due(self, now: datetime) -> bool:
        """The period is over: flag the case for review. It is never declassified by itself."""
        end = self.ends()
        return self.level.classified and end is not None and end <= now


@dataclass(kw_only=True)
class BorrowingRecord:
    """One borrowing slip (借阅单) and what became of it."""

    id: str
    account: str
    department: str
    items: tuple[str, ...] | None
    permissions: tuple[str, ...]
    purpose: str
    starts_at: datetime
    ends_at: datetime
    needs_owner: bool  # 机密/绝密: the owning department's leader approves as well
    requested: Step
    by_requester_leader: Step | None = None
    by_owner_leader: Step | None = None
    rejected: Step | None = None
    returned: Step | None = None

    @property
    def approved(self) -> bool:
        if self.rejected is not None or self.by_requester_leader is None:
            return False
        return not self.needs_owner or self.by_owner_leader is not None

    def approvers(self) -> list[str]:
        steps = [self.by_requester_leader, self.by_owner_leader]
        return sorted({s.actor for s in steps if s is not None})

    def ended_at(self, now: datetime) -> datetime | None:
        """When access ended: returned, or the window closed; None while it can still run."""
        if self.returned is not None:
            return self.returned.time
        return self.ends_at if self.ends_at <= now else None

    def status(self, now: datetime) -> str:
        if self.rejected is not None:
            return "rejected"
        if self.returned is not None:
            return "returned"
        if not self.approved:
            return "expired" if self.ends_at <= now else "pending"
        if self.ends_at <= now:
            return "overdue"  # approved, the window closed, never returned
        return "active" if self.starts_at <= now else "approved"

    def as_policy(self, case: str) -> Borrowing:
        return Borrowing(
            id=self.id,
            case=case,
            account=self.account,
            items=frozenset(self.items) if self.items is not None else None,
            permissions=frozenset(GrantPermission(p) for p in self.permissions),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            ended_at=self.returned.time if self.returned is not None else None,
        )


@dataclass(kw_only=True)
class CopyRecord:
    """A numbered copy (第 N 份): a download or an export of the classified case."""

    number: int
    kind: str  # "download" or "export"
    holder: str
    holder_department: str
    evidence: str | None
    purpose: str
    made: Step
    destroyed: Step | None = None


@dataclass(kw_only=True)
class DestructionList:
    """A destruction list (销毁清册): proposed, approved by a leader, witnessed, carried out."""

    id: str
    items: tuple[str, ...]
    reason: str
    place: str
    witness: str
    proposed: Step
    approved: Step | None = None
    rejected: Step | None = None
    witnessed: Step | None = None
    witnessed_place: str = ""

    def status(self) -> str:
        if self.rejected is not None:
            return "rejected"
        if self.witnessed is not None:
            return "witnessed"
        return "approved" if self.approved is not None else "proposed"


@dataclass(frozen=True, kw_only=True)
class Access:
    """One touch of the case's material, for the register's "what was accessed"."""

    actor: str
    action: str
    evidence: str | None
    time: datetime
    seq: int
    copy_no: int | None


@dataclass(kw_only=True)
class CaseSecrecy:
    """Everything the confidentiality procedures need to know about one case."""

    number: str
    department: str
    classification: Classification
    proposals: dict[str, Proposal] = field(default_factory=dict)
    borrowings: dict[str, BorrowingRecord] = field(default_factory=dict)
    copies: dict[int, CopyRecord] = field(default_factory=dict)
    reused_copy_numbers: list[tuple[int, int]] = field(default_factory=list)  # (number, seq)
    destructions: dict[str, DestructionList] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)

    @property
    def classified(self) -> bool:
        return self.classification.level.classified

    def open_proposal(self) -> Proposal | None:
        return next((p for p in self.proposals.values() if p.open), None)

    def next_copy_number(self) -> int:
        return max(self.copies, default=0) + 1

    def live_borrowings(self) -> tuple[Borrowing, ...]:
        """The approved borrowings, as custody.policy weighs them."""
        return tuple(b.as_policy(self.number) for b in self.borrowings.values() if b.approved)

    def accessed_under(self, b: BorrowingRecord, now: datetime) -> list[Access]:
        """What the borrower touched while the borrowing ran (approval to its end)."""
        start = max(
            [b.starts_at] + [s.time for s in (b.by_requester_leader, b.by_owner_leader) if s]
        )
        end = b.ended_at(now) or now
        return [a for a in self.accesses if a.actor == b.account and start <= a.time <= end]

    @classmethod
    def fold(cls, entries: Iterable[Mapping[str, Any]]) -> CaseSecrecy:
        """Read the case's entries (in ledger order, the first being ``case.created``)."""
        it = iter(entries)
        first = next(it, None)
        if first is None or first.get("action") != Action.CASE_CREATED:
            raise ValueError("a case's entries begin with its case.created entry")
        state = cls._created(first)
        for entry in it:
            state._apply(entry)
        return state

    @classmethod
    def _created(cls, entry: Mapping[str, Any]) -> CaseSecrecy:
        details = entry.get("details") or {}
        level = parse_level(str(details.get("classification", "internal")))
        secrecy = details.get("secrecy") or {}
        period = SecrecyPeriod.from_json(secrecy["period"]) if "period" in secrecy else None
        created = _step(entry)
        state = cls(
            number=str(entry["case"]),
            department=str(entry["department"]),
            classification=Classification(
                level=level,
                period=period,
                basis=str(secrecy.get("basis", "")),
                proposer=created.actor,
                approver=None if level.classified else created.actor,
                since=created.time,
            ),
        )
        if level.classified:
            state.proposals[INITIAL] = Proposal(
                id=INITIAL,
                level=level,
                period=period,
                basis=str(secrecy.get("basis", "")),
                reason="定密 at case creation",
                kind="定密",
                proposed=created,
            )
        return state

    def _apply(self, entry: Mapping[str, Any]) -> None:
        action = entry.get("action")
        d: Mapping[str, Any] = entry.get("details") or {}
        handler = _HANDLERS.get(str(action))
        if handler is not None:
            handler(self, entry, d)
        if action in ACCESS_ACTIONS and action != Action.DOWNLOAD_ENDED:
            copy_no = d.get("copy_no")
            self.accesses.append(
                Access(
                    actor=str(entry["actor"]),
                    action=str(action),
                    evidence=entry.get("evidence"),
                    time=parse_rfc3339(str(entry["time"])),
                    seq=int(entry["seq"]),
                    copy_no=int(copy_no) if isinstance(copy_no, int) else None,
                )
            )
            if isinstance(copy_no, int):
                self._copy(entry, d, copy_no)

    def _copy(self, entry: Mapping[str, Any], d: Mapping[str, Any], number: int) -> None:
        if number in self.copies:
            self.reused_copy_numbers.append((number, int(entry["seq"])))
            return
        self.copies[number] = CopyRecord(
            number=number,
            kind="export" if entry.get("action") == Action.EXPORT else "download",
            holder=str(entry["actor"]),
            holder_department=str(entry["department"]),
            evidence=entry.get("evidence"),
            purpose=str(d.get("purpose") or ""),
            made=_step(entry),
        )


def _intake(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    if e.get("evidence"):
        s.items.append(str(e["evidence"]))


def _proposed(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    pid = str(d["proposal_id"])
    s.proposals[pid] = Proposal(
        id=pid,
        level=parse_level(str(d["level"])),
        period=SecrecyPeriod.from_json(d["period"]) if d.get("period") else None,
        basis=str(d.get("basis", "")),
        reason=str(d.get("reason", "")),
        kind=str(d.get("kind", "")),
        proposed=_step(e),
    )


def _decided(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    p = s.proposals.get(str(d.get("proposal_id")))
    if p is None or not p.open:
        return
    step = _step(e, str(d.get("reason", "")))
    if e.get("action") == Action.CLASSIFICATION_REJECTED:
        p.rejected = step
        return
    p.approved = step
    s.classification = Classification(
        level=p.level,
        period=p.period,
        basis=p.basis,
        proposer=p.proposed.actor,
        approver=step.actor,
        since=step.time if p.id != INITIAL else p.proposed.time,
    )


def _borrow_requested(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    items = d.get("items")
    bid = str(d["borrowing_id"])
    s.borrowings[bid] = BorrowingRecord(
        id=bid,
        account=str(e["actor"]),
        department=str(e["department"]),
        items=tuple(str(i) for i in items) if isinstance(items, list) else None,
        permissions=tuple(str(p) for p in d.get("permissions", [])),
        purpose=str(d.get("purpose", "")),
        starts_at=parse_rfc3339(str(d["starts_at"])),
        ends_at=parse_rfc3339(str(d["ends_at"])),
        needs_owner=bool(d.get("needs_owner_approval")),
        requested=_step(e),
    )


def _borrow_step(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    b = s.borrowings.get(str(d.get("borrowing_id")))
    if b is None:
        return
    step = _step(e, str(d.get("reason", "")))
    action = e.get("action")
    if action == Action.BORROWING_APPROVED:
        capacities = d.get("as") or []
        if "requester_department" in capacities:
            b.by_requester_leader = step
        if "owner_department" in capacities:
            b.by_owner_leader = step
    elif action == Action.BORROWING_REJECTED:
        b.rejected = step
    elif action == Action.BORROWING_RETURNED and b.returned is None:
        b.returned = step


def _copy_destroyed(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    copy = s.copies.get(int(d.get("copy_no", 0)))
    if copy is not None and copy.destroyed is None:
        copy.destroyed = _step(e, str(d.get("reason", "")))


def _destruction(s: CaseSecrecy, e: Mapping[str, Any], d: Mapping[str, Any]) -> None:
    lid = str(d.get("list_id"))
    action = e.get("action")
    if action == Action.DESTRUCTION_PROPOSED:
        s.destructions[lid] = DestructionList(
            id=lid,
            items=tuple(str(i) for i in d.get("items", [])),
            reason=str(d.get("reason", "")),
            place=str(d.get("place", "")),
            witness=str(d.get("witness", "")),
            proposed=_step(e),
        )
        return
    dl = s.destructions.get(lid)
    if dl is None:
        return
    step = _step(e, str(d.get("reason", "") or d.get("statement", "")))
    if action == Action.DESTRUCTION_APPROVED:
        dl.approved = step
    elif action == Action.DESTRUCTION_REJECTED:
        dl.rejected = step
    elif action == Action.DESTRUCTION_WITNESSED:
        dl.witnessed = step
        dl.witnessed_place = str(d.get("place", ""))


_HANDLERS = {
    Action.INTAKE.value: _intake,
    Action.CLASSIFICATION_PROPOSED.value: _proposed,
    Action.CLASSIFICATION_APPROVED.value: _decided,
    Action.CLASSIFICATION_REJECTED.value: _decided,
    Action.BORROWING_REQUESTED.value: _borrow_requested,
    Action.BORROWING_APPROVED.value: _borrow_step,
    Action.BORROWING_REJECTED.value: _borrow_step,
    Action.BORROWING_RETURNED.value: _borrow_step,
    Action.COPY_DESTROYED.value: _copy_destroyed,
    Action.DESTRUCTION_PROPOSED.value: _destruction,
    Action.DESTRUCTION_APPROVED.value: _destruction,
    Action.DESTRUCTION_REJECTED.value: _destruction,
    Action.DESTRUCTION_WITNESSED.value: _destruction,
}
