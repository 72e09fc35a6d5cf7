"""The pure core of the classified procedures: the mark, the period, the fold, the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from custody.errors import InputError, InvalidState, PermissionDenied
from custody.ledger import Action, EntryDraft, MemoryLedger
from custody.policy import Level, Principal, Role
from custody.secrecy import CaseSecrecy, SecrecyPeriod, mark, parse_period, rules

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_the_mark_names_level_and_period() -> None:
    assert mark(Level.CONFIDENTIAL, SecrecyPeriod(years=10)) == "机密★10年"
    assert mark(Level.SECRET, SecrecyPeriod(until=date(2030, 6, 30))) == "秘密★2030年6月30日"
    assert mark(Level.TOP_SECRET, None) == "绝密"
    assert mark(Level.INTERNAL, None) is None


def test_periods_are_parsed_and_the_legal_maximum_is_enforced() -> None:
    assert parse_period("10年") == SecrecyPeriod(years=10)
    assert parse_period("2030-06-30") == SecrecyPeriod(until=date(2030, 6, 30))
    with pytest.raises(InputError, match="neither"):
        parse_period("ten")
    with pytest.raises(InputError, match="at most 10"):
        SecrecyPeriod(years=11).check_for(Level.SECRET, T0)
    SecrecyPeriod(years=30).check_for(Level.TOP_SECRET, T0)


def _fold(drafts: list[EntryDraft]) -> CaseSecrecy:
    ledger = MemoryLedger()
    values: list[dict[str, Any]] = []
    for i, d in enumerate(drafts):
        values.append(ledger.append(d, time=T0 + timedelta(minutes=i)).value())
    return CaseSecrecy.fold(values)


def _created(**details: Any) -> EntryDraft:
    return EntryDraft(
        actor="li.wei",
        department="forensics",
        action=Action.CASE_CREATED,
        case="C-1",
        details={
            "title": "t",
            "classification": "confidential",
            "secrecy": {"period": {"years": 1}, "basis": "依据"},
            **details,
        },
    )


def _download(copy_no: int, actor: str = "chen.jie") -> EntryDraft:
    return EntryDraft(
        actor=actor,
        department="prosecution",
        action=Action.DOWNLOAD,
        case="C-1",
        evidence="e-1",
        details={"purpose": "p", "copy_no": copy_no},
    )


def test_a_copy_number_reused_is_detected_by_the_fold() -> None:
    state = _fold([_created(), _download(1), _download(2), _download(2, "other")])
    assert sorted(state.copies) == [1, 2]
    assert state.copies[2].holder == "chen.jie"
    assert [n for n, _ in state.reused_copy_numbers] == [2]
    assert state.next_copy_number() == 3


def test_the_end_of_the_period_flags_review_and_never_declassifies() -> None:
    state = _fold([_created()])
    c = state.classification
    assert not c.review_due(T0 + timedelta(days=364))
    assert c.review_due(T0 + timedelta(days=366))
    assert c.level is Level.CONFIDENTIAL  # still classified after the period


def _who(name: str, role: Role, dept: str, clearance: Level = Level.TOP_SECRET) -> Principal:
    return Principal(account=name, role=role, department=dept, clearance=clearance, active=True)


def _requested(dept: str = "prosecution", needs_owner: bool = True) -> EntryDraft:
    return EntryDraft(
        actor="chen.jie",
        department=dept,
        action=Action.BORROWING_REQUESTED,
        case="C-1",
        details={
            "borrowing_id": "b-1",
            "items": "all",
            "permissions": ["view"],
            "purpose": "p",
            "starts_at": "2026-01-05T09:00:00.000000Z",
            "ends_at": "2026-02-05T09:00:00.000000Z",
            "needs_owner_approval": needs_owner,
        },
    )


def test_borrowing_approval_by_the_wrong_departments_leader_is_refused() -> None:
    state = _fold([_created(), _requested()])
    with pytest.raises(PermissionDenied, match="prosecution"):
        rules.approve_borrowing(state, "b-1", _who("x", Role.LEADER, "traffic"), T0)
    with pytest.raises(PermissionDenied, match="leader"):
        rules.approve_borrowing(state, "b-1", _who("y", Role.TECHNICIAN, "prosecution"), T0)
    _, capacities = rules.approve_borrowing(state, "b-1", _who("s", Role.LEADER, "prosecution"), T0)
    assert capacities == ["requester_department"]
    _, capacities = rules.approve_borrowing(state, "b-1", _who("w", Role.LEADER, "forensics"), T0)
    assert capacities == ["owner_department"]


def test_a_borrowing_is_live_only_when_fully_approved_and_inside_its_window() -> None:
    approval = EntryDraft(
        actor="sun.li",
        department="prosecution",
        action=Action.BORROWING_APPROVED,
        case="C-1",
        details={"borrowing_id": "b-1", "as": ["requester_department"]},
    )
    state = _fold([_created(), _requested(), approval])
    assert state.live_borrowings() == ()  # the owning department's leader has not signed
    owner = EntryDraft(
        actor="wang.fang",
        department="forensics",
        action=Action.BORROWING_APPROVED,
        case="C-1",
        details={"borrowing_id": "b-1", "as": ["owner_department"]},
    )
    state = _fold([_created(), _requested(), approval, owner])
    (live,) = state.live_borrowings()
    assert live.is_live(T0 + timedelta(days=1))
    assert not live.is_live(T0 + timedelta(days=40))  # the window closed: access ends by itself


def test_destruction_rules_need_a_leader_and_the_named_witness() -> None:
    proposed = EntryDraft(
        actor="li.wei",
        department="forensics",
        action=Action.DESTRUCTION_PROPOSED,
        case="C-1",
        details={
            "list_id": "d-1",
            "items": ["e-1"],
            "reason": "r",
            "place": "室 3",
            "witness": "zhao",
        },
    )
    state = _fold([_created(), proposed])
    with pytest.raises(PermissionDenied, match="leader"):
        rules.decide_destruction(state, "d-1", _who("admin", Role.ADMIN, "administration"))
    with pytest.raises(InvalidState, match="approved"):
        rules.witness_destruction(state, "d-1", _who("zhao", Role.TECHNICIAN, "forensics"), "室 3")
    rules.decide_destruction(state, "d-1", _who("wang", Role.LEADER, "forensics"))
    with pytest.raises(PermissionDenied, match="proposer"):
        rules.decide_destruction(state, "d-1", _who("li.wei", Role.LEADER, "forensics"))
