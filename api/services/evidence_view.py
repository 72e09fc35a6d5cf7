"""What the API shows about an item: facts from its INTAKE entry, state from its entries.

The evidence row is only an index (id → case, INTAKE seq). Everything shown or acted on —
digests, seal number, object address, retention, custodian, status — is read from the
hash-chained ledger, and a row that disagrees with it is reported, never believed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.schemas import EvidencePublic, EvidenceStatePublic, ImagePublic, PartPublic
from custody.db import aware
from custody.errors import LedgerIntegrityError
from custody.intake_record import IntakeRecord, find_intake, table_disagreements
from custody.ledger import Action, EntryDraft, parse_rfc3339, rfc3339
from custody.ledger_store import append, entries_of_evidence
from custody.models import Account, Evidence
from custody.state import EvidenceState, derive_state


def entry_values(session: Session, evidence_id: str) -> list[dict[str, Any]]:
    """The item's ledger entries (parsed), in ledger order."""
    return [json.loads(e.canonical) for e in entries_of_evidence(session, evidence_id)]


def evidence_state(session: Session, evidence_id: str) -> EvidenceState:
    return derive_state(entry_values(session, evidence_id))


def intake_of(session: Session, evidence_id: str) -> IntakeRecord:
    """The item's facts as its INTAKE entry records them."""
    return find_intake(entry_values(session, evidence_id), evidence_id)


def row_facts(row: Evidence) -> dict[str, Any]:
    """The evidence row's copy of the intake facts, keyed as the INTAKE entry names them."""
    return {
        "intake_seq": row.intake_seq,
        "case": row.case_number,
        "time": rfc3339(aware(row.intake_time)),
        "technician": row.technician,
        "technician_department": row.technician_department,
        "filename": row.original_filename,
        "content_type": row.content_type,
        "description": row.description,
        "seal_no": row.seal_no,
        "media": json.loads(row.media),
        "size": row.size,
        "digests": json.loads(row.digests),
        "declared_digests": json.loads(row.declared_digests),
        "object_key": row.object_key,
        "object_version": row.object_version,
        "storage": row.storage_backend,
        "retention_until": rfc3339(aware(row.retention_until)),
    }


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


def retained_until(record: IntakeRecord, state: EvidenceState) -> datetime:
    """The retention the ledger requires: the intake date, or a later recorded extension."""
    until = state.retention_until or record.retention_until
    if until is None:
        raise LedgerIntegrityError(
            f"INTAKE entry {record.seq} of {record.evidence_id} records no retention",
            seq=record.seq,
        )
    return parse_rfc3339(until)


def _dict(value: Any) -> dict[str, Any] | None:
    return asdict(value) if value is not None else None


def evidence_public(session: Session, row: Evidence) -> EvidencePublic:
    """The item as the ledger records it; ``ledger_findings`` names any table disagreement."""
    entries = entry_values(session, row.id)
    record = find_intake(entries, row.id)
    state = derive_state(entries)
    return EvidencePublic(
        id=row.id,
        case=record.case,
        original_filename=record.filename,
        content_type=record.content_type,
        description=record.description,
        seal_no=record.seal_no,
        media=dict(record.media),
        size=record.size,
        digests=dict(record.digests),
        declared_digests=dict(record.declared_digests),
        object_key=record.object_key,
        object_version=record.object_version,
        storage=record.storage,
        retention_mode=record.retention_mode,
        intake_time=parse_rfc3339(record.time),
        technician=record.technician,
        technician_department=record.technician_department,
        retention_until=retained_until(record, state),
        intake_seq=record.seq,
        ledger_findings=table_disagreements(record, row_facts(row)),
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
        format=str(record.format),
        parts=[PartPublic(**p.to_json()) for p in record.parts],
        image=ImagePublic(**record.image.to_json()) if record.image is not None else None,
        derived_from=dict(record.derived_from) if record.derived_from else None,
        duplicate_of=[dict(d) for d in record.duplicate_of],
    )
