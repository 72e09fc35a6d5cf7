"""Multi-part intake: one acquisition (E01…E0n, .001…) as one item, part by part.

A session is opened with the intake metadata (checked as a single intake is, before a byte
is stored). Each part is then uploaded on its own, hashed while it is stored, and kept as
its own content-addressed object; a part can be re-sent (the same bytes answer as before),
so an interrupted upload resumes with the parts the session does not have yet. Completing
the session examines the whole set (order, completeness, both levels) and commits the one
item; a set that lacks a segment is refused and the session stays open for it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.context import AppContext
from api.services import intake as intake_service
from api.services import orphans
from custody.errors import (
    ImageError,
    IntakeSessionClosed,
    MalformedMetadata,
    PartConflict,
    SegmentMissing,
    SegmentOutOfOrder,
    UnknownIntakeSession,
)
from custody.images.detect import HEAD_BYTES, detect_format, segment_number
from custody.images.segments import MAX_EWF_SEGMENTS
from custody.ledger import utc_now
from custody.models import Account, IntakeSession, IntakeSessionPart
from storage.base import StoredObject

OPEN, COMPLETED, ABANDONED, REFUSED = "open", "completed", "abandoned", "refused"
MAX_PARTS = MAX_EWF_SEGMENTS


def open_session(ctx: AppContext, account: Account, raw_metadata: bytes | str) -> str:
    meta = intake_service.parse_metadata(raw_metadata)
    if meta.format == "file":
        raise MalformedMetadata("a multi-part intake is an image: format 'ewf' or 'raw'")
    intake_service.prepare(ctx, account, meta)  # case, permission, algorithms, parent
    session_id = str(uuid.uuid4())
    with ctx.session() as session:
        session.add(
            IntakeSession(
                id=session_id,
                case_number=meta.case,
                account_name=account.name,
                metadata_json=meta.model_dump_json(),
                state=OPEN,
                created_at=utc_now(),
            )
        )
        session.commit()
    return session_id


def _load(ctx: AppContext, account: Account, session_id: str, *, open_only: bool) -> IntakeSession:
    with ctx.session() as session:
        row = session.get(IntakeSession, session_id)
        if row is None or row.account_name != account.name:
            # another account's session is not shown to exist
            raise UnknownIntakeSession(f"no intake session {session_id} of yours")
        session.expunge(row)
    if open_only and row.state != OPEN:
        raise IntakeSessionClosed(
            f"intake session {session_id} is {row.state}"
            + (f" (evidence {row.evidence_id})" if row.evidence_id else "")
            + "; open a new session"
        )
    return row


def _parts(ctx: AppContext, session_id: str) -> list[IntakeSessionPart]:
    with ctx.session() as session:
        rows = list(
            session.execute(
                select(IntakeSessionPart)
                .where(col(IntakeSessionPart.session_id) == session_id)
                .order_by(col(IntakeSessionPart.idx))
            ).scalars()
        )
        for r in rows:
            session.expunge(r)
    return rows


def describe(ctx: AppContext, account: Account, session_id: str) -> dict[str, Any]:
    """What the session holds so far: enough for a client to resume."""
    row = _load(ctx, account, session_id, open_only=False)
    parts = _parts(ctx, session_id)
    meta = json.loads(row.metadata_json)
    return {
        "id": row.id,
        "case": row.case_number,
        "state": row.state,
        "created_at": row.created_at,
        "closed_at": row.closed_at,
        "evidence": row.evidence_id,
        "format": meta.get("format"),
        "parts": [_part_json(p) for p in parts],
        "missing": _gaps([p.idx for p in parts]),
    }


def _part_json(p: IntakeSessionPart) -> dict[str, Any]:
    return {
        "index": p.idx,
        "name": p.name,
        "size": p.size,
        "digests": json.loads(p.digests),
        "received_at": p.received_at,
    }


def _gaps(indexes: list[int]) -> list[int]:
    top = max(indexes, default=0)
    have = set(indexes)
    return [i for i in range(1, top + 1) if i not in have]


class _Prefixed:
    """A stream with bytes already read from it put back in front."""

    def __init__(self, prefix: bytes, inner: BinaryIO) -> None:
        self._prefix, self._inner = prefix, inner

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            out = self._prefix if size < 0 else self._prefix[:size]
            self._prefix = self._prefix[len(out) :]
            return out
        return self._inner.read(size)


def _check_part_head(
    prepared: intake_service.PreparedIntake, index: int, name: str, head: bytes
) -> None:
    """A part that cannot be segment ``index`` of its set is refused before it is stored."""
    family = detect_format(head)
    declared = prepared.meta.format
    label = f"part {index} ({name})" if name else f"part {index}"
    if family is None:
        if declared == "ewf":
            raise ImageError(
                f"container: {label} is not an EWF segment file (no EVF signature); the "
                "session takes EWF segments"
            )
        return
    if declared == "raw":
        raise ImageError(f"container: {label} is an EWF segment file; the session is raw")
    number = segment_number(head)
    if number != index:
        raise SegmentOutOfOrder(
            f"container: {label} holds segment {number} of its set, not segment {index}: "
            f"upload it as part {number}"
        )


def put_part(
    ctx: AppContext,
    account: Account,
    session_id: str,
    index: int,
    name: str,
    body: BinaryIO,
) -> tuple[dict[str, Any], bool]:
    """Store one part; returns it and whether it is new (an identical re-send is not)."""
    row = _load(ctx, account, session_id, open_only=True)
    if not 1 <= index <= MAX_PARTS:
        raise MalformedMetadata(f"a part number is 1 to {MAX_PARTS}, not {index}")
    prepared = intake_service.prepare(
        ctx, account, intake_service.parse_metadata(row.metadata_json)
    )
    head = b""
    while len(head) < HEAD_BYTES:
        chunk = body.read(HEAD_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    try:
        _check_part_head(prepared, index, name, head)
    except ImageError as e:
        intake_service.record_refusal(ctx, prepared, reason=e.message, code=e.code)
        raise
    edges = intake_service.EdgeCapture(_Prefixed(head, body))  # type: ignore[arg-type]
    stored = intake_service.store_content(ctx, prepared, edges)  # type: ignore[arg-type]
    return _file_part(ctx, prepared, row, index, name, stored, edges)


def _file_part(
    ctx: AppContext,
    prepared: intake_service.PreparedIntake,
    row: IntakeSession,
    index: int,
    name: str,
    stored: StoredObject,
    edges: intake_service.EdgeCapture,
) -> tuple[dict[str, Any], bool]:
    part = IntakeSessionPart(
        session_id=row.id,
        idx=index,
        name=name,
        size=stored.size,
        digests=json.dumps(stored.digests, sort_keys=True),
        object_key=stored.key,
        object_version=stored.version_id,
        created=stored.created,
        head=edges.head.hex(),
        tail=edges.tail.hex(),
        received_at=utc_now(),
    )
    try:
        with ctx.session() as session:
            session.add(part)
            session.commit()
            session.refresh(part)
            session.expunge(part)
        return _part_json(part), True
    except IntegrityError:
        pass
    existing = next((p for p in _parts(ctx, row.id) if p.idx == index), None)
    if existing is not None and json.loads(existing.digests).get("blake3") == stored.digests.get(
        "blake3"
    ):
        return _part_json(existing), False  # a re-send of the same bytes: resumable
    conflict = PartConflict(
        f"part {index} of session {row.id} already holds other content "
        f"({existing.name if existing else '?'}); a stored part is never replaced — abandon "
        "the session and open a new one if the wrong file was sent"
    )
    if stored.created:
        intake_service.record_unreferenced(ctx, prepared, stored, conflict)
    raise conflict


def _stored_parts(parts: list[IntakeSessionPart]) -> list[intake_service.StoredPart]:
    return [
        intake_service.StoredPart(
            index=p.idx,
            name=p.name,
            stored=StoredObject(
                key=p.object_key,
                version_id=p.object_version,
                size=p.size,
                digests=json.loads(p.digests),
                created=p.created,
            ),
            head=bytes.fromhex(p.head),
            tail=bytes.fromhex(p.tail),
        )
        for p in parts
    ]


def _close(ctx: AppContext, session_id: str, state: str, evidence_id: str | None = None) -> None:
    with ctx.session() as session:
        row = session.get(IntakeSession, session_id)
        assert row is not None
        row.state = state
        row.closed_at = utc_now()
        row.evidence_id = evidence_id
        session.add(row)
        session.commit()


@dataclass(frozen=True, kw_only=True)
class _Fixable:
    """Failures a later upload can mend: the session stays open for them."""

    @staticmethod
    def __call__(e: Exception) -> bool:
        return isinstance(e, SegmentMissing | SegmentOutOfOrder)


def complete(ctx: AppContext, account: Account, session_id: str) -> intake_service.Committed:
    """Examine the whole set and commit the one item; a missing segment keeps it open."""
    row = _load(ctx, account, session_id, open_only=True)
    prepared = intake_service.prepare(
        ctx, account, intake_service.parse_metadata(row.metadata_json)
    )
    parts = _parts(ctx, session_id)
    gaps = _gaps([p.idx for p in parts])
    if not parts or gaps:
        have = ", ".join(f"{p.idx} ({p.name})" for p in parts) or "none"
        error = SegmentMissing(
            f"container: part {gaps[0] if gaps else 1} is missing: the session holds parts "
            f"{have}; upload the missing part(s), then complete again"
        )
        intake_service.record_refusal(ctx, prepared, reason=error.message, code=error.code)
        raise error
    fixable = _Fixable()
    try:
        committed = intake_service.commit_parts(
            ctx, prepared, _stored_parts(parts), content_type=None, keep_parts=fixable
        )
    except Exception as e:
        if not fixable(e):
            _close(ctx, session_id, REFUSED)
        raise
    _close(ctx, session_id, COMPLETED, committed.evidence_id)
    return committed


def abandon(ctx: AppContext, account: Account, session_id: str) -> dict[str, Any]:
    """Close the session; its stored parts no item references are registered as such."""
    row = _load(ctx, account, session_id, open_only=True)
    prepared = intake_service.prepare(
        ctx, account, intake_service.parse_metadata(row.metadata_json)
    )
    parts = _parts(ctx, session_id)
    used = orphans.referenced(ctx)
    for p in _stored_parts(parts):
        if p.stored.created and (p.stored.key, p.stored.version_id) not in used:
            intake_service.record_unreferenced(
                ctx, prepared, p.stored, IntakeSessionClosed("the session was abandoned")
            )
    _close(ctx, session_id, ABANDONED)
    return describe(ctx, account, session_id)
