"""The custody state machine (pure): every transition allowed or refused from each state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custody import transitions
from custody.errors import InvalidState, PermissionDenied
from custody.ledger import Action
from custody.state import EvidenceStatus, derive_state

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PAST, FUTURE = NOW - timedelta(days=1), NOW + timedelta(days=1)


def entry(action: Action, actor: str = "li.wei", **details: Any) -> dict[str, Any]:
    return {
        "action": str(action),
        "actor": actor,
        "department": "forensics",
        "time": "t",
        "seq": 0,
        "details": details,
    }


INTAKE = entry(Action.INTAKE, retention_until="2026-05-01T00:00:00.000000Z")
REQUESTED = [INTAKE, entry(Action.DISPOSAL_REQUESTED, request_id="r1", reason="closed")]
APPROVED = [*REQUESTED, entry(Action.DISPOSAL_APPROVED, actor="admin", request_id="r1")]
FAILED = [*APPROVED, entry(Action.DISPOSAL_FAILED, actor="admin", request_id="r1")]
DISPOSED = [*APPROVED, entry(Action.DISPOSED, actor="admin", request_id="r1")]


def test_the_disposal_path_and_its_retry() -> None:
    transitions.request_disposal(derive_state([INTAKE]), "e")
    pending = transitions.approve_disposal(
        derive_state(REQUESTED), "e", by="admin", now=NOW, retained_until=PAST
    )
    assert pending.request_id == "r1"
    failed = derive_state(FAILED)
    assert failed.status == EvidenceStatus.DISPOSAL_APPROVED
    assert failed.pending_disposal is not None and failed.pending_disposal.failures == 1
    assert failed.pending_disposal.approved_by == "admin"
    assert transitions.complete_disposal(failed, "e").request_id == "r1"
    assert derive_state(DISPOSED).status == EvidenceStatus.DISPOSED


@pytest.mark.parametrize(
    ("entries", "call", "error", "fragment"),
    [
        (
            REQUESTED,
            lambda s: transitions.request_disposal(s, "e"),
            InvalidState,
            "cannot be requested",
        ),
        (
            REQUESTED,
            lambda s: transitions.approve_disposal(
                s, "e", by="li.wei", now=NOW, retained_until=PAST
            ),
            PermissionDenied,
            "different person",
        ),
        (
            REQUESTED,
            lambda s: transitions.approve_disposal(
                s, "e", by="admin", now=NOW, retained_until=FUTURE
            ),
            InvalidState,
            "retained until",
        ),
        (
            [*REQUESTED, entry(Action.LEGAL_HOLD_SET)],
            lambda s: transitions.approve_disposal(
                s, "e", by="admin", now=NOW, retained_until=PAST
            ),
            InvalidState,
            "legal hold",
        ),
        (
            APPROVED,
            lambda s: transitions.approve_disposal(
                s, "e", by="admin", now=NOW, retained_until=PAST
            ),
            InvalidState,
            "no pending disposal",
        ),
        (
            [INTAKE],
            lambda s: transitions.complete_disposal(s, "e"),
            InvalidState,
            "only an approved disposal",
        ),
        (
            DISPOSED,
            lambda s: transitions.complete_disposal(s, "e"),
            InvalidState,
            "only an approved disposal",
        ),
        (DISPOSED, lambda s: transitions.change_legal_hold(s, "e"), InvalidState, "disposed of"),
        (
            DISPOSED,
            lambda s: transitions.start_transfer(s, "e", by="li.wei", to="x"),
            InvalidState,
            "disposed of",
        ),
        (
            [INTAKE],
            lambda s: transitions.start_transfer(s, "e", by="other", to="x"),
            InvalidState,
            "current custodian",
        ),
        (
            [INTAKE],
            lambda s: transitions.start_transfer(s, "e", by="li.wei", to="li.wei"),
            InvalidState,
            "different recipient",
        ),
        (
            [INTAKE, entry(Action.TRANSFER_STARTED, transfer_id="t1", to="x")],
            lambda s: transitions.start_transfer(s, "e", by="li.wei", to="y"),
            InvalidState,
            "still pending",
        ),
        (
            [INTAKE],
            lambda s: transitions.accept_transfer(s, "e", by="x"),
            InvalidState,
            "no pending transfer",
        ),
        (
            [INTAKE, entry(Action.TRANSFER_STARTED, transfer_id="t1", to="x")],
            lambda s: transitions.accept_transfer(s, "e", by="y"),
            PermissionDenied,
            "addressed to x",
        ),
        (
            [INTAKE],
            lambda s: transitions.extend_retention(s, "e", current=FUTURE, until=NOW),
            InvalidState,
            "never shortened",
        ),
    ],
)
def test_refused_transitions_say_why(
    entries: list[dict[str, Any]], call: Any, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        call(derive_state(entries))


def test_an_accepted_transfer_moves_custody() -> None:
    started = [INTAKE, entry(Action.TRANSFER_STARTED, transfer_id="t1", to="x")]
    pending = transitions.accept_transfer(derive_state(started), "e", by="x")
    accepted = [*started, entry(Action.TRANSFER_ACCEPTED, actor="x", transfer_id="t1")]
    state = derive_state(accepted)
    assert pending.transfer_id == "t1" and state.custodian == "x" and state.pending_transfer is None
