"""Turning stored rows into what the API shows, with state derived from the ledger."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.schemas import EvidencePublic, EvidenceStatePublic
from custody.db import aware
from custody.ledger import Action, EntryDraft, parse_rfc3339
from custody.ledger_store import append, entries_of_evidence
from custody.models import Account, Evidence
from custody.state import EvidenceState, derive_state


def evidence_state(session: Session, evidence_id: str) -> EvidenceState:
    return derive_state(json.loads(e.canonical) for e in entries_of_evidence(session, evidence_id))


def record_touch(
    session: Session,
    account: Account,
    action: Action,
    ev: Evidence,
    details: Mapping[str, object],
) -> None:
    """Append one entry about an evidence item; the caller commits."""
    append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=action,
            case=ev.case_number,
            evidence=ev.id,
            details=details,
        ),
    )


def retained_until(ev: Evidence, state: EvidenceState) -> datetime:
    """The retention the ledger requires: the intake date, or a later recorded extension."""
    until = aware(ev.retention_until)
    if state.retention_until:
        until = max(until, parse_rfc3339(state.retention_until))
    return until


def _dict(value: Any) -> dict[str, Any] | None:
    return asdict(value) if value is not None else None


def evidence_public(session: Session, row: Evidence) -> EvidencePublic:
    state = evidence_state(session, row.id)
    return EvidencePublic(
        id=row.id,
        case=row.case_number,
        original_filename=row.original_filename,
        content_type=row.content_type,
        description=row.description,
        seal_no=row.seal_no,
        media=json.loads(row.media),
        size=row.size,
        digests=json.loads(row.digests),
        declared_digests=json.loads(row.declared_digests),
        object_key=row.object_key,
        object_version=row.object_version,
        storage=row.storage_backend,
        intake_time=aware(row.intake_time),
        technician=row.technician,
        technician_department=row.technician_department,
        retention_until=aware(row.retention_until),
        intake_seq=row.intake_seq,
        state=EvidenceStatePublic(
            custodian=state.custodian,
            custodian_department=state.custodian_department,
            legal_hold=state.legal_hold,
            status=state.status,
            pending_transfer=_dict(state.pending_transfer),
            pending_disposal=_dict(state.pending_disposal),
            last_verification=dict(state.last_verification) if state.last_verification else None,
            retention_until=state.retention_until,
        ),
    )
