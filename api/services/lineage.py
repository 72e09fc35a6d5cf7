"""Duplicates and derived items: how one item relates to the others of its case.

A second seizure of the same content is a fact of its own, so a duplicate is recorded (and
named in the answer), never refused. A derived item names its parent and the path inside
it; the parent's history records the derivation too, so the lineage reads from both ends.
Both are read from the case's INTAKE entries (the record), not from the evidence table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from custody.errors import MalformedMetadata, UnknownEvidence
from custody.images.record import ImageRecord
from custody.intake_record import IntakeRecord, intake_record
from custody.ledger import Action, EntryDraft
from custody.ledger_store import append, entries_of_case
from custody.models import Account, Evidence


class _HasRecord(Protocol):
    def record(self) -> Any: ...


def check_parent(session: Session, case: str, parent_id: str) -> None:
    """A derived item's parent must be an item of the same case (its bundle carries both)."""
    parent = session.get(Evidence, parent_id)
    if parent is None:
        raise UnknownEvidence(f"the parent item {parent_id} does not exist")
    if parent.case_number != case:
        raise MalformedMetadata(
            f"the parent item {parent_id} belongs to another case; a derived item is taken "
            "in under its parent's case"
        )


Identity = tuple[str, str]  # (level, blake3)


def identities(
    container: Mapping[str, str], image: ImageRecord | None, parts: Sequence[_HasRecord]
) -> set[Identity]:
    """What counts as the same content: the container, each part, and the media."""
    found: set[Identity] = set()
    if "blake3" in container:
        found.add(("container", container["blake3"]))
    if len(parts) > 1:
        for p in parts:
            digest = p.record().digests.get("blake3")
            if digest:
                found.add(("part", digest))
    if image is not None and "blake3" in image.digests:
        found.add(("media", image.digests["blake3"]))
    return found


def _record_identities(record: IntakeRecord) -> set[Identity]:
    found: set[Identity] = set()
    if "blake3" in record.digests:
        found.add(("container", record.digests["blake3"]))
    if len(record.parts) > 1:
        found.update(("part", p.digests["blake3"]) for p in record.parts if "blake3" in p.digests)
    if record.image is not None and "blake3" in record.image.digests:
        found.add(("media", record.image.digests["blake3"]))
    return found


@dataclass(frozen=True, kw_only=True)
class Duplicate:
    """An item of the case that holds the same content (at some level) as the new one."""

    evidence: str
    filename: str
    seal_no: str | None
    level: str  # what is equal: "media", "container", "part", or "media = container"

    def to_json(self) -> dict[str, str]:
        return {"evidence": self.evidence, "level": self.level}

    def warning(self) -> dict[str, Any]:
        seal = f", seal {self.seal_no}" if self.seal_no else ""
        return {
            "code": "duplicate-content",
            "evidence": self.evidence,
            "message": f"the same content ({self.level}) is already in the case as item "
            f"{self.evidence} ({self.filename}{seal}); this intake is recorded as a seizure "
            "of its own",
        }


def _level(mine: str, theirs: str) -> str:
    return mine if mine == theirs else f"{mine} = {theirs}"


def case_intakes(session: Session, case: str) -> Iterable[IntakeRecord]:
    for row in entries_of_case(session, case):
        if row.action == Action.INTAKE:
            yield intake_record(json.loads(row.canonical))


def duplicates(session: Session, case: str, mine: set[Identity]) -> list[Duplicate]:
    """Earlier items of the case sharing any identity with ``mine``, one per item."""
    by_digest: dict[str, str] = {digest: level for level, digest in mine}
    found: list[Duplicate] = []
    for record in case_intakes(session, case):
        for level, digest in sorted(_record_identities(record)):
            if digest in by_digest:
                found.append(
                    Duplicate(
                        evidence=record.evidence_id,
                        filename=record.filename,
                        seal_no=record.seal_no,
                        level=_level(by_digest[digest], level),
                    )
                )
                break
    return found


def record_derivation(
    session: Session,
    account: Account,
    case: str,
    derived: Mapping[str, str],
    child: str,
    filename: str,
    time: datetime,
) -> None:
    """On the parent's history: the item extracted from it, and from where (the caller commits)."""
    append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.DERIVED,
            case=case,
            evidence=derived["evidence"],
            details={"derived": child, "path": derived["path"], "filename": filename},
        ),
        time=time,
    )


def children(session: Session, case: str, parent: str) -> list[dict[str, str]]:
    """The items of the case whose INTAKE entry names ``parent`` as theirs."""
    return [
        {"evidence": r.evidence_id, "path": str(r.derived_from.get("path", ""))}
        for r in case_intakes(session, case)
        if r.derived_from is not None and r.derived_from.get("evidence") == parent
    ]
