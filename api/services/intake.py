"""Intake: verify, then persist; persist, then acknowledge (DESIGN §3.1).

The order is the guarantee. The bytes are hashed while they are written to the store; every
declared digest is compared; the retention lock is applied; only then are the evidence row
and its INTAKE entry committed together. Any failure before that commit leaves at worst an
unreferenced immutable blob, and every refusal is itself recorded on the ledger.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlmodel import Session

from api.authz import authorize, visible_case
from api.context import AppContext
from api.schemas import FILE_NAME_TOO_LONG, IntakeMetadata
from api.services import images, lineage, orphans
from custody import policy
from custody.canonical import parse_json_object
from custody.digests import MultiHasher, compare_declared, normalize_declared, required_algorithms
from custody.errors import (
    CustodyError,
    DigestMismatch,
    FileNameTooLong,
    ImageError,
    MalformedMetadata,
    StorageError,
    StoredDigestMismatch,
)
from custody.images.detect import HEAD_BYTES, TAIL_BYTES, ImageFormat, detect_format
from custody.images.ewf_metadata import header_metadata
from custody.images.record import ImageRecord, PartRecord, declared_problem, mismatches
from custody.images.segments import PartHead, check_ewf_set, raw_part_names
from custody.ledger import Action, EntryDraft, rfc3339, utc_now
from custody.ledger_store import append
from custody.models import Account, Evidence
from storage.base import StoredObject


def parse_metadata(raw: bytes | str | None) -> IntakeMetadata:
    """Parse and validate the metadata JSON; MalformedMetadata says exactly what is wrong."""
    if raw is None:
        raise MalformedMetadata(
            'the intake has no metadata; send a JSON object with at least {"case": …}'
        )
    obj = parse_json_object(raw, what="metadata")
    try:
        meta = IntakeMetadata.model_validate(obj)
    except ValidationError as e:
        for err in e.errors():
            if err["type"] == FILE_NAME_TOO_LONG:  # a clear 422
                raise FileNameTooLong(f"metadata.filename: {err['msg']}; shorten it") from e
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'metadata'}: {err['msg']}" for err in e.errors()
        )
        raise MalformedMetadata(f"metadata is invalid: {problems}") from e
    declared = {
        a.lower(): normalize_declared(a.lower(), v) for a, v in meta.declared_digests.items()
    }
    container = {
        a.lower(): normalize_declared(a.lower(), v)
        for a, v in meta.declared_container_digests.items()
    }
    return meta.model_copy(
        update={"declared_digests": declared, "declared_container_digests": container}
    )


Within = Callable[[Session, str], None]
"""Work done inside an intake's commit transaction, given the new item's id."""


@dataclass(frozen=True, kw_only=True)
class PreparedIntake:
    meta: IntakeMetadata
    account: Account
    hasher: MultiHasher


def prepare(ctx: AppContext, account: Account, meta: IntakeMetadata) -> PreparedIntake:
    """Everything that can be refused before a byte is stored: case, permission, algorithms."""
    with ctx.session() as session:
        case = visible_case(session, meta.case)
        authorize(session, account, policy.Permission.EVIDENCE_INTAKE, case=case)
        if meta.parent is not None:
            lineage.check_parent(session, meta.case, meta.parent.evidence)
    algorithms = required_algorithms(
        [*ctx.settings.extra_digests.split(","), *meta.algorithms],
        [*meta.declared_digests, *meta.declared_container_digests],
    )
    return PreparedIntake(meta=meta, account=account, hasher=MultiHasher(algorithms))


class EdgeCapture(io.RawIOBase):
    """Pass a stream through, keeping its first and last bytes (an EWF segment's header
    and closing section), so the format is known without reading the object again."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.head = b""
        self.tail = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        if data:
            if len(self.head) < HEAD_BYTES:
                self.head += data[: HEAD_BYTES - len(self.head)]
            self.tail = (self.tail + data)[-TAIL_BYTES:]
        return data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


@dataclass(frozen=True, kw_only=True)
class StoredPart:
    """One stored file of an intake, with the edges that place it in its set."""

    index: int
    name: str
    stored: StoredObject
    head: bytes
    tail: bytes

    def record(self) -> PartRecord:
        return PartRecord(
            index=self.index,
            name=self.name,
            size=self.stored.size,
            digests=self.stored.digests,
            object_key=self.stored.key,
            object_version=self.stored.version_id,
        )


def store_content(ctx: AppContext, prepared: PreparedIntake, stream: BinaryIO) -> StoredObject:
    """Hash while storing, in one pass; a refusal after the case is known is recorded."""
    try:
        return ctx.store.put(
            stream,
            hasher=prepared.hasher,
            max_bytes=ctx.settings.max_upload_bytes,
            expected_blake3=prepared.meta.declared_digests.get("blake3"),
        )
    except CustodyError as e:
        if not isinstance(e, StorageError):
            computed = prepared.hasher.hexdigests() if isinstance(e, DigestMismatch) else None
            record_refusal(ctx, prepared, reason=e.message, code=e.code, computed=computed)
        raise
    finally:
        prepared.hasher.close()


def record_refusal(
    ctx: AppContext,
    prepared: PreparedIntake,
    *,
    reason: str,
    code: str,
    computed: dict[str, str] | None = None,
    size: int | None = None,
) -> None:
    meta = prepared.meta
    with ctx.session() as session:
        append(
            session,
            EntryDraft(
                actor=prepared.account.name,
                department=prepared.account.department,
                action=Action.INTAKE_REFUSED,
                case=meta.case,
                details={
                    "reason": reason,
                    "code": code,
                    "filename": meta.filename,
                    "seal_no": meta.seal_no,
                    "declared_digests": meta.declared_digests,
                    **({"computed_digests": computed} if computed else {}),
                    **({"size": size} if size is not None else {}),
                },
            ),
        )
        session.commit()


def commit_intake(
    ctx: AppContext,
    prepared: PreparedIntake,
    stored: StoredObject,
    *,
    filename: str | None,
    content_type: str | None,
    head: bytes = b"",
    tail: bytes = b"",
    within: Within | None = None,
) -> Committed:
    """One stored file: an opaque file, or a single-segment EWF image (by its signature)."""
    name = prepared.meta.filename if prepared.meta.filename is not None else (filename or "")
    part = StoredPart(index=1, name=name, stored=stored, head=head, tail=tail)
    return commit_parts(ctx, prepared, [part], content_type=content_type, within=within)


def commit_parts(
    ctx: AppContext,
    prepared: PreparedIntake,
    parts: Sequence[StoredPart],
    *,
    content_type: str | None,
    keep_parts: Callable[[Exception], bool] = lambda e: False,
    within: Within | None = None,
) -> Committed:
    """Examine both levels, compare declared digests, lock every part, then commit row +
    INTAKE entry together.

    If anything fails after the store created an object, the object is recorded as
    unreferenced (ledger entry, else the register file) before the failure is reported,
    unless ``keep_parts`` says the parts stay in use (an open multi-part session).
    ``within`` runs in the commit's transaction with the new item's id (a caller's own row
    changes with the record, or not at all).
    """
    try:
        return _commit_intake(ctx, prepared, parts, content_type=content_type, within=within)
    except Exception as e:
        if not keep_parts(e):
            for part in parts:
                if part.stored.created:
                    record_unreferenced(ctx, prepared, part.stored, e)
        raise


@dataclass(frozen=True, kw_only=True)
class Committed:
    """What the intake recorded, and what its answer draws attention to."""

    evidence_id: str
    warnings: list[dict[str, Any]] = field(default_factory=list)


def record_unreferenced(
    ctx: AppContext, prepared: PreparedIntake, stored: StoredObject, failure: Exception
) -> None:
    code = failure.code if isinstance(failure, CustodyError) else None
    orphans.record_unreferenced(
        ctx,
        orphans.UnreferencedObject(
            key=stored.key,
            version_id=stored.version_id,
            size=stored.size,
            digests=stored.digests,
            storage=ctx.store.name,
        ),
        # the error's type, not its text: a database error may quote the metadata
        reason=f"the intake stored the object but failed before its commit "
        f"({type(failure).__name__})",
        code=code,
        actor=prepared.account.name,
        department=prepared.account.department,
        case=prepared.meta.case,
    )


def _refuse(
    ctx: AppContext,
    prepared: PreparedIntake,
    error: CustodyError,
    *,
    computed: dict[str, str] | None = None,
    size: int | None = None,
) -> CustodyError:
    record_refusal(
        ctx, prepared, reason=error.message, code=error.code, computed=computed, size=size
    )
    return error


def _format_of(prepared: PreparedIntake, parts: Sequence[StoredPart]) -> ImageFormat:
    """Detected by signature; ``format`` in the metadata only confirms it or opts out."""
    declared = ImageFormat(prepared.meta.format) if prepared.meta.format else None
    family = detect_format(parts[0].head)
    if declared == ImageFormat.FILE:
        if len(parts) > 1:
            raise ImageError("format 'file' takes one file; several parts are an image")
        return ImageFormat.FILE
    if family is not None:
        if declared == ImageFormat.RAW:
            raise ImageError(
                f"container: part 1 ({parts[0].name}) is an EWF ({family}) segment file, not "
                "raw; take it in as ewf (or as an opaque file with format 'file')"
            )
        return ImageFormat.EWF
    if declared == ImageFormat.EWF:
        raise ImageError(
            f"container: part 1 ({parts[0].name}) is not an EWF segment file (no EVF "
            "signature at its start), though the intake declares format 'ewf'"
        )
    if len(parts) > 1 or declared == ImageFormat.RAW:
        return ImageFormat.RAW
    return ImageFormat.FILE


@dataclass(frozen=True, kw_only=True)
class _Examined:
    fmt: ImageFormat
    size: int
    digests: dict[str, str]  # the container: one part's, or the parts joined
    image: ImageRecord | None


def _examine(ctx: AppContext, prepared: PreparedIntake, parts: Sequence[StoredPart]) -> _Examined:
    """Both levels of what was stored: refuse (and record) what is not a whole, true image."""
    try:
        fmt = _format_of(prepared, parts)
        if fmt is ImageFormat.EWF:
            check_ewf_set(
                [
                    PartHead(
                        index=p.index, name=p.name, size=p.stored.size, head=p.head, tail=p.tail
                    )
                    for p in parts
                ]
            )
        elif fmt is ImageFormat.RAW:
            raw_part_names([p.name for p in parts])
    except ImageError as e:
        raise _refuse(ctx, prepared, e) from e
    records = [p.record() for p in parts]
    algorithms = prepared.hasher.algorithms
    if len(parts) == 1:
        size, digests = parts[0].stored.size, dict(parts[0].stored.digests)
        container = None
    else:
        container = images.read_container(ctx, records, algorithms)
        for reading in container.parts:
            if reading.problem or reading.digests != dict(reading.part.digests):
                raise StorageError(
                    f"container: {reading.part.label} no longer reads as it was stored "
                    f"({reading.problem or 'its digests changed'}); nothing was recorded"
                )
        size, digests = container.joined_size or 0, dict(container.joined)
    if fmt is ImageFormat.FILE:
        return _Examined(fmt=fmt, size=size, digests=digests, image=None)
    media = images.read_media(ctx, fmt, records, algorithms, container)
    if fmt is ImageFormat.RAW and len(parts) == 1:
        media = images.MediaReading(size=size, digests=digests)
    if media.unavailable:
        from custody.errors import ImageSupportMissing

        raise ImageSupportMissing(f"media: this server cannot read EWF images ({media.problem})")
    if media.problem is not None or media.size is None:
        raise _refuse(ctx, prepared, ImageError(media.problem or "media: not readable"))
    wrong = mismatches(media.stored_digests, media.digests)
    if wrong:
        text = "; ".join(f"{a}: the imager stored {d}, the media computes {c}" for a, d, c in wrong)
        where = parts[-1].name or f"part {parts[-1].index}"
        raise _refuse(
            ctx,
            prepared,
            StoredDigestMismatch(
                f"media: the hash the imager stored in the image (in the last segment, "
                f"{where}) does not match the media read from its segments ({text}): the "
                "image was altered or damaged after acquisition; nothing was recorded as "
                "evidence",
                mismatches=[{"algorithm": a, "stored": d, "computed": c} for a, d, c in wrong],
                level="media",
            ),
            computed=media.digests,
            size=media.size,
        )
    metadata = header_metadata(media.header, media=media.media) if fmt is ImageFormat.EWF else {}
    image = ImageRecord(
        format=fmt,
        size=media.size,
        digests=media.digests,
        stored_digests=media.stored_digests,
        metadata=metadata,
    )
    return _Examined(fmt=fmt, size=size, digests=digests, image=image)


def check_declared_file(
    ctx: AppContext, prepared: PreparedIntake, digests: dict[str, str], size: int
) -> None:
    """An opaque file's declared digests against its computed ones: a mismatch is refused
    (and recorded) exactly as the intake refuses it."""
    _check_declared(
        ctx, prepared, _Examined(fmt=ImageFormat.FILE, size=size, digests=digests, image=None)
    )


def _check_declared(ctx: AppContext, prepared: PreparedIntake, examined: _Examined) -> None:
    meta = prepared.meta
    container = examined.digests
    if examined.image is None:
        wrong = compare_declared(meta.declared_digests, container)
        problem = (
            "declared digest does not match: "
            + "; ".join(f"{a}: declared {d}, computed {c}" for a, d, c in wrong)
            if wrong
            else None
        )
        computed = container
    else:
        problem = declared_problem(
            meta.declared_digests,
            media=examined.image.digests,
            container=container,
            fmt=examined.fmt,
        )
        wrong = mismatches(meta.declared_digests, examined.image.digests)
        computed = dict(examined.image.digests)
        if problem is None:
            wrong = compare_declared(meta.declared_container_digests, container)
            if wrong:
                problem = "declared container digest does not match the file(s): " + "; ".join(
                    f"{a}: declared {d}, computed {c}" for a, d, c in wrong
                )
                computed = container
    if problem is None:
        return
    record_refusal(
        ctx,
        prepared,
        reason=problem,
        code=DigestMismatch.code,
        computed=computed,
        size=examined.size,
    )
    raise DigestMismatch(
        f"{problem}; nothing was recorded as evidence. Check the file and the value printed "
        "by the imaging tool",
        mismatches=[{"algorithm": a, "declared": d, "computed": c} for a, d, c in wrong],
    )


def _commit_intake(
    ctx: AppContext,
    prepared: PreparedIntake,
    parts: Sequence[StoredPart],
    *,
    content_type: str | None,
    within: Within | None = None,
) -> Committed:
    meta = prepared.meta
    examined = _examine(ctx, prepared, parts)
    _check_declared(ctx, prepared, examined)
    now = utc_now()
    until = now + timedelta(days=ctx.settings.retention_days)
    locks = []
    for part in parts:
        stored = part.stored
        info = ctx.store.stat(stored.key, stored.version_id)
        if info.lock.retain_until is None or info.lock.retain_until < until:
            locks.append(ctx.store.set_retention(stored.key, stored.version_id, until))
        else:  # identical content already retained for longer
            locks.append(info.lock)
    lock = locks[0]
    retained_until = min((lk.retain_until or until) for lk in locks)
    evidence_id = str(uuid.uuid4())
    name = parts[0].name
    first = parts[0].stored
    media_type = meta.content_type or content_type or "application/octet-stream"
    image_details: dict[str, Any] = {}
    if examined.image is not None:
        image_details = {
            "parts": [p.record().to_json() for p in parts],
            "image": examined.image.to_json(),
        }
    if meta.declared_container_digests:
        image_details["declared_container_digests"] = meta.declared_container_digests
    with ctx.session() as session:
        duplicates = lineage.duplicates(
            session, meta.case, lineage.identities(examined.digests, examined.image, parts)
        )
        derived = (
            {"evidence": meta.parent.evidence, "path": meta.parent.path}
            if meta.parent is not None
            else None
        )
        sealed = append(
            session,
            EntryDraft(
                actor=prepared.account.name,
                department=prepared.account.department,
                action=Action.INTAKE,
                case=meta.case,
                evidence=evidence_id,
                details={
                    "filename": name,
                    "content_type": media_type,
                    "description": meta.description,
                    "media": meta.media,
                    "size": examined.size,
                    "digests": examined.digests,
                    "declared_digests": meta.declared_digests,
                    "seal_no": meta.seal_no,
                    "object_key": first.key,
                    "object_version": first.version_id,
                    "storage": ctx.store.name,
                    "retention_mode": lock.mode,
                    "retention_until": rfc3339(retained_until),
                    "format": str(examined.fmt),
                    **image_details,
                    **({"derived_from": derived} if derived else {}),
                    **({"duplicate_of": [d.to_json() for d in duplicates]} if duplicates else {}),
                },
            ),
            time=now,
        )
        if derived is not None:
            lineage.record_derivation(
                session, prepared.account, meta.case, derived, evidence_id, name, now
            )
        session.add(
            Evidence(
                id=evidence_id,
                case_number=meta.case,
                original_filename=name,
                content_type=media_type,
                description=meta.description,
                seal_no=meta.seal_no,
                media=json.dumps(meta.media, ensure_ascii=False, sort_keys=True),
                size=examined.size,
                digests=json.dumps(examined.digests, sort_keys=True),
                declared_digests=json.dumps(meta.declared_digests, sort_keys=True),
                object_key=first.key,
                object_version=first.version_id,
                storage_backend=ctx.store.name,
                intake_time=now,
                technician=prepared.account.name,
                technician_department=prepared.account.department,
                retention_until=retained_until,
                intake_seq=sealed.seq,
            )
        )
        if within is not None:
            within(session, evidence_id)
        session.commit()
    return Committed(evidence_id=evidence_id, warnings=[d.warning() for d in duplicates])
