"""An evidence item's current state, derived from its ledger entries alone.

Nothing mutable is stored for custodian, legal hold or status: replaying the entries gives
them, so the state shown is exactly what the signed ledger proves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from custody.ledger import Action


class EvidenceStatus(StrEnum):
    """Where an item stands in its life, as its entries tell."""

    UNKNOWN = "unknown"  # no INTAKE entry (never shown for a real item)
    IN_CUSTODY = "in_custody"
    DISPOSAL_REQUESTED = "disposal_requested"
    DISPOSAL_APPROVED = "disposal_approved"
    DISPOSED = "disposed"


@dataclass(frozen=True, kw_only=True)
class PendingTransfer:
    transfer_id: str
    from_account: str
    to_account: str
    reason: str
    started_at: str
    started_seq: int


@dataclass(frozen=True, kw_only=True)
class PendingDisposal:
    request_id: str
    requested_by: str
    reason: str
    requested_at: str
    approved_by: str | None = None
    failures: int = 0  # deletions attempted after the approval that failed


@dataclass(frozen=True, kw_only=True)
class EvidenceState:
    custodian: str | None
    custodian_department: str | None
    legal_hold: bool
    status: EvidenceStatus
    pending_transfer: PendingTransfer | None
    pending_disposal: PendingDisposal | None
    last_verification: Mapping[str, Any] | None
    retention_until: str | None  # RFC 3339: set at intake, only ever extended


def derive_state(entries: Iterable[Mapping[str, Any]]) -> EvidenceState:
    """Replay one evidence item's entries (in ledger order)."""
    custodian: str | None = None
    department: str | None = None
    hold = False
    status = EvidenceStatus.UNKNOWN
    transfer: PendingTransfer | None = None
    disposal: PendingDisposal | None = None
    last_verification: Mapping[str, Any] | None = None
    retention: str | None = None
    for e in entries:
        action = e.get("action")
        details: Mapping[str, Any] = e.get("details") or {}
        if action == Action.INTAKE:
            custodian, department = e.get("actor"), e.get("department")
            status = EvidenceStatus.IN_CUSTODY
            retention = details.get("retention_until")
        elif action == Action.RETENTION_EXTENDED:
            retention = details.get("retention_until", retention)
        elif action == Action.TRANSFER_STARTED:
            transfer = PendingTransfer(
                transfer_id=str(details.get("transfer_id", "")),
                from_account=str(e.get("actor")),
                to_account=str(details.get("to", "")),
                reason=str(details.get("reason", "")),
                started_at=str(e.get("time")),
                started_seq=int(e.get("seq", -1)),
            )
        elif action == Action.TRANSFER_ACCEPTED and transfer is not None:
            if details.get("transfer_id") == transfer.transfer_id:
                custodian, department = e.get("actor"), e.get("department")
                transfer = None
        elif action == Action.LEGAL_HOLD_SET:
            hold = True
        elif action == Action.LEGAL_HOLD_CLEARED:
            hold = False
        elif action == Action.DISPOSAL_REQUESTED:
            status = EvidenceStatus.DISPOSAL_REQUESTED
            disposal = PendingDisposal(
                request_id=str(details.get("request_id", "")),
                requested_by=str(e.get("actor")),
                reason=str(details.get("reason", "")),
                requested_at=str(e.get("time")),
            )
        elif action == Action.DISPOSAL_APPROVED:
            status = EvidenceStatus.DISPOSAL_APPROVED
            if disposal is not None:
                disposal = replace(disposal, approved_by=str(e.get("actor")))
        elif action == Action.DISPOSAL_FAILED and disposal is not None:
            disposal = replace(disposal, failures=disposal.failures + 1)
        elif action == Action.DISPOSED:
            status, disposal = EvidenceStatus.DISPOSED, None
        elif action == Action.DISPOSAL_WITHDRAWN and status == EvidenceStatus.DISPOSAL_REQUESTED:
            status, disposal = EvidenceStatus.IN_CUSTODY, None
        elif action == Action.VERIFICATION:
            last_verification = {"time": e.get("time"), "result": details.get("result")}
    return EvidenceState(
        custodian=custodian,
        custodian_department=department,
        legal_hold=hold,
        status=status,
        pending_transfer=transfer,
        pending_disposal=disposal,
        last_verification=last_verification,
        retention_until=retention,
    )
