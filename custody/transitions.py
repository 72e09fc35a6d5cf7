"""The custody state machine: which change an item's current state allows, decided purely.

Each function takes the state derived from the item's entries (custody.state) and the
request, and returns what the new entry must record, or raises InvalidState /
PermissionDenied saying why not. The service calls them after taking the ledger lock and
re-reading the entries, so the check and the entry that records the transition are made
under one lock: of two racing requests exactly one wins.

    in_custody ──request──▶ disposal_requested ──approve──▶ disposal_approved ──▶ disposed
                                                                 │  ▲
                                                     delete fails └──┘ retry (disposal_failed)
"""

from __future__ import annotations

from datetime import datetime

from custody.errors import InvalidState, PermissionDenied
from custody.state import EvidenceState, EvidenceStatus, PendingDisposal, PendingTransfer


def _not_disposed(state: EvidenceState, evidence_id: str) -> None:
    if state.status == EvidenceStatus.DISPOSED:
        raise InvalidState(f"evidence {evidence_id} has been disposed of")


def start_transfer(state: EvidenceState, evidence_id: str, *, by: str, to: str) -> None:
    """Only the current custodian hands over, one transfer at a time, to someone else."""
    _not_disposed(state, evidence_id)
    if state.custodian != by:
        raise InvalidState(
            f"only the current custodian ({state.custodian}) can start a transfer of {evidence_id}"
        )
    if state.pending_transfer is not None:
        raise InvalidState(
            f"transfer {state.pending_transfer.transfer_id} to "
            f"{state.pending_transfer.to_account} is still pending; it must be accepted first"
        )
    if to == by:
        raise InvalidState("a transfer needs a different recipient")


def accept_transfer(state: EvidenceState, evidence_id: str, *, by: str) -> PendingTransfer:
    """The addressee of the pending transfer takes custody."""
    _not_disposed(state, evidence_id)
    pending = state.pending_transfer
    if pending is None:
        raise InvalidState(f"evidence {evidence_id} has no pending transfer")
    if pending.to_account != by:
        raise PermissionDenied(
            f"the pending transfer of {evidence_id} is addressed to {pending.to_account}, "
            "not to you"
        )
    return pending


def change_legal_hold(state: EvidenceState, evidence_id: str) -> None:
    _not_disposed(state, evidence_id)


def extend_retention(
    state: EvidenceState, evidence_id: str, *, current: datetime, until: datetime
) -> None:
    """Retention is only ever extended."""
    _not_disposed(state, evidence_id)
    if until <= current:
        raise InvalidState(
            f"retention of {evidence_id} already runs until {current.isoformat()}; it can be "
            "extended but never shortened"
        )


def request_disposal(state: EvidenceState, evidence_id: str) -> None:
    if state.status != EvidenceStatus.IN_CUSTODY:
        raise InvalidState(
            f"evidence {evidence_id} is {state.status}; disposal cannot be requested"
        )


def approve_disposal(
    state: EvidenceState,
    evidence_id: str,
    *,
    by: str,
    now: datetime,
    retained_until: datetime,
) -> PendingDisposal:
    """A second person approves, after retention has run out and with no hold."""
    pending = state.pending_disposal
    if pending is None or state.status != EvidenceStatus.DISPOSAL_REQUESTED:
        raise InvalidState(f"evidence {evidence_id} has no pending disposal request")
    if pending.requested_by == by:
        raise PermissionDenied("the approver must be a different person from the requester")
    if retained_until > now:
        raise InvalidState(
            f"evidence {evidence_id} is retained until {retained_until.isoformat()}; disposal "
            "is possible only after retention has expired"
        )
    if state.legal_hold:
        raise InvalidState(
            f"evidence {evidence_id} is under a legal hold; it cannot be disposed of"
        )
    return pending


def complete_disposal(state: EvidenceState, evidence_id: str) -> PendingDisposal:
    """The approved deletion (or a retry after it failed) may record the item as disposed."""
    pending = state.pending_disposal
    if state.status != EvidenceStatus.DISPOSAL_APPROVED or pending is None:
        raise InvalidState(
            f"evidence {evidence_id} is {state.status}: only an approved disposal can be completed"
        )
    if state.legal_hold:
        raise InvalidState(
            f"evidence {evidence_id} is under a legal hold; it cannot be disposed of"
        )
    return pending
