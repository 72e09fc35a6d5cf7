"""The facts fixed at intake, read from the hash-chained INTAKE entry (DESIGN §3.6, §3.8).

The ledger is the record and the evidence table only an index: whatever a court relies on
(digests, size, seal number, object address, technician, intake time) is taken from the
INTAKE entry, and a table row that says otherwise is itself a finding
(:func:`table_disagreements`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from custody.errors import LedgerIntegrityError
from custody.images.detect import ImageFormat
from custody.images.record import ImageRecord, PartRecord
from custody.ledger import Action

# The INTAKE entry's detail fields, in the order they are shown.
INTAKE_DETAIL_FIELDS = (
    "filename",
    "content_type",
    "description",
    "seal_no",
    "media",
    "size",
    "digests",
    "declared_digests",
    "object_key",
    "object_version",
    "storage",
    "retention_mode",
    "retention_until",
    # forensic images (issue 14): absent for an opaque file taken in before them
    "format",
    "parts",
    "image",
    "declared_container_digests",
    "derived_from",
    "duplicate_of",
)


@dataclass(frozen=True, kw_only=True)
class IntakeRecord:
    """One evidence item as its INTAKE entry records it."""

    seq: int
    evidence_id: str
    case: str
    time: str
    technician: str
    technician_department: str
    filename: str
    content_type: str
    description: str
    seal_no: str | None
    media: Mapping[str, Any] = field(default_factory=dict)
    size: int
    digests: Mapping[str, str]
    declared_digests: Mapping[str, str] = field(default_factory=dict)
    object_key: str
    object_version: str | None
    storage: str
    retention_mode: str | None
    retention_until: str | None
    format: ImageFormat = ImageFormat.FILE
    parts: tuple[PartRecord, ...] = ()
    image: ImageRecord | None = None
    declared_container_digests: Mapping[str, str] = field(default_factory=dict)
    derived_from: Mapping[str, str] | None = None  # {"evidence": parent id, "path": …}
    duplicate_of: tuple[Mapping[str, str], ...] = ()  # [{"evidence", "level"}, …]

    def stored_parts(self) -> tuple[PartRecord, ...]:
        """Every stored object of the item, in order; an opaque file is its one part."""
        if self.parts:
            return self.parts
        return (
            PartRecord(
                index=1,
                name=self.filename,
                size=self.size,
                digests=self.digests,
                object_key=self.object_key,
                object_version=self.object_version,
            ),
        )

    def facts(self) -> dict[str, Any]:
        """The facts a table row must agree with, keyed as the INTAKE entry names them."""
        return {
            "intake_seq": self.seq,
            "case": self.case,
            "time": self.time,
            "technician": self.technician,
            "technician_department": self.technician_department,
            "filename": self.filename,
            "content_type": self.content_type,
            "description": self.description,
            "seal_no": self.seal_no,
            "media": dict(self.media),
            "size": self.size,
            "digests": dict(self.digests),
            "declared_digests": dict(self.declared_digests),
            "object_key": self.object_key,
            "object_version": self.object_version,
            "storage": self.storage,
            "retention_until": self.retention_until,
        }


def _text(details: Mapping[str, Any], key: str, default: str = "") -> str:
    value = details.get(key, default)
    return value if isinstance(value, str) else default


def _opt_text(details: Mapping[str, Any], key: str) -> str | None:
    value = details.get(key)
    return value if isinstance(value, str) else None


def _digest_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def intake_record(entry: Mapping[str, Any]) -> IntakeRecord:
    """Read an INTAKE entry's value; LedgerIntegrityError if it is not one."""
    seq = entry.get("seq")
    if entry.get("action") != Action.INTAKE or not isinstance(seq, int):
        raise LedgerIntegrityError(
            f"entry {seq} is not an INTAKE entry ({entry.get('action')!r})",
            seq=seq if isinstance(seq, int) else None,
        )
    details = entry.get("details")
    if not isinstance(details, Mapping):
        raise LedgerIntegrityError(f"INTAKE entry {seq} has no details", seq=seq)
    size = details.get("size")
    if isinstance(size, bool) or not isinstance(size, int):
        raise LedgerIntegrityError(f"INTAKE entry {seq} records no size", seq=seq)
    media = details.get("media")
    fmt_text = details.get("format", ImageFormat.FILE)
    try:
        fmt = ImageFormat(str(fmt_text))
    except ValueError as e:
        raise LedgerIntegrityError(
            f"INTAKE entry {seq} records an unknown format {fmt_text!r}", seq=seq
        ) from e
    raw_parts = details.get("parts") or []
    if not isinstance(raw_parts, list):
        raise LedgerIntegrityError(f"INTAKE entry {seq}: parts is not a list", seq=seq)
    parts = tuple(PartRecord.from_json(p, seq=seq) for p in raw_parts)
    if [p.index for p in parts] != list(range(1, len(parts) + 1)):
        raise LedgerIntegrityError(f"INTAKE entry {seq}: parts are not numbered 1…n", seq=seq)
    image = details.get("image")
    derived = details.get("derived_from")
    duplicates = details.get("duplicate_of") or []
    return IntakeRecord(
        seq=seq,
        evidence_id=str(entry.get("evidence")),
        case=str(entry.get("case")),
        time=str(entry.get("time")),
        technician=str(entry.get("actor")),
        technician_department=str(entry.get("department")),
        filename=_text(details, "filename"),
        content_type=_text(details, "content_type", "application/octet-stream"),
        description=_text(details, "description"),
        seal_no=_opt_text(details, "seal_no"),
        media=dict(media) if isinstance(media, Mapping) else {},
        size=size,
        digests=_digest_map(details.get("digests")),
        declared_digests=_digest_map(details.get("declared_digests")),
        object_key=_text(details, "object_key"),
        object_version=_opt_text(details, "object_version"),
        storage=_text(details, "storage"),
        retention_mode=_opt_text(details, "retention_mode"),
        retention_until=_opt_text(details, "retention_until"),
        format=fmt,
        parts=parts,
        image=ImageRecord.from_json(image, seq=seq) if image is not None else None,
        declared_container_digests=_digest_map(details.get("declared_container_digests")),
        derived_from=_digest_map(derived) if isinstance(derived, Mapping) else None,
        duplicate_of=tuple(
            _digest_map(d) for d in duplicates if isinstance(duplicates, list) and d
        ),
    )


def find_intake(entries: Iterable[Mapping[str, Any]], evidence_id: str) -> IntakeRecord:
    """The item's INTAKE record among its entries; LedgerIntegrityError if there is none."""
    intakes = [
        e for e in entries if e.get("action") == Action.INTAKE and e.get("evidence") == evidence_id
    ]
    if not intakes:
        raise LedgerIntegrityError(
            f"the ledger holds no INTAKE entry for evidence {evidence_id}: the evidence table "
            "names an item the ledger never recorded"
        )
    if len(intakes) > 1:
        seqs = ", ".join(str(e.get("seq")) for e in intakes)
        raise LedgerIntegrityError(f"evidence {evidence_id} has several INTAKE entries ({seqs})")
    return intake_record(intakes[0])


def table_disagreements(record: IntakeRecord, row: Mapping[str, Any]) -> list[str]:
    """Each field where the evidence table differs from the INTAKE entry, as a finding."""
    facts = record.facts()
    findings = []
    for name in facts:
        if name not in row:
            continue
        if row[name] != facts[name]:
            findings.append(
                f"the evidence table disagrees with the ledger: {name} is {row[name]!r} in the "
                f"table but {facts[name]!r} in INTAKE entry {record.seq}"
            )
    return findings
