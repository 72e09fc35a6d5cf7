"""Resumable intake (tus 1.0: core, creation, termination) of one evidence file.

The upload is staged as a file under the data dir (``uploads/<id>.part``, for both storage
backends) and appended to by PATCH requests, fsynced as it grows; the durable offset is the
staged file's length after an fsync, recorded in the upload's row. A restarted server
resumes from that offset (bytes written after the last fsync are cut off, never trusted).
Nothing is a record until the last byte has arrived: then the staged file is hashed and its
declared digests compared (a mismatch is refused and recorded, nothing is stored), and it is
handed to the store and committed through the same path as any intake (api.services.intake),
so the evidence row and its INTAKE entry exist only after completion. Expired uploads are
abandoned by the sweep and recorded on the ledger (``evidence.upload_abandoned``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlmodel import Session, col

from api.context import AppContext
from api.schemas import IntakeMetadata
from api.services import intake as intake_service
from api.services.orphans import SYSTEM
from custody.digests import CHUNK_SIZE, MultiHasher
from custody.errors import (
    DigestMismatch,
    ImageError,
    InputError,
    InvalidState,
    MalformedMetadata,
    StorageError,
    StorageFull,
    UnknownUpload,
    UploadAborted,
    UploadBusy,
    UploadExpired,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from custody.images.detect import HEAD_BYTES, detect_format
from custody.ledger import Action, EntryDraft, rfc3339, utc_now
from custody.ledger_store import append
from custody.models import Account, UploadSession

OPEN, COMPLETED, TERMINATED, ABANDONED, REFUSED = (
    "open",
    "completed",
    "terminated",
    "abandoned",
    "refused",
)
SYNC_BYTES = 8 * 1024 * 1024
"""A PATCH fsyncs and records its offset every this many bytes, so a crash mid-request
costs at most this much to send again."""
MAX_METADATA_HEADER = 64 * 1024
DIGEST_KEYS = ("sha256", "md5", "sha1", "sm3", "blake3")
FIELD_KEYS = {"case": "case", "filename": "filename", "filetype": "content_type"}
FIELD_KEYS |= {"name": "filename", "type": "content_type"}  # as Uppy sends them
FIELD_KEYS |= {"description": "description", "seal_no": "seal_no"}


# --- metadata ---------------------------------------------------------------------------


def parse_upload_metadata(header: str | None) -> IntakeMetadata:
    """``Upload-Metadata`` (tus: ``key base64,…``) as the intake's metadata, validated alike.

    ``metadata`` carries the whole intake metadata JSON (as ``POST /api/v1/evidence``
    takes it); the keys ``case``, ``filename`` (or ``name``), ``filetype`` (or ``type``),
    ``description``, ``seal_no`` and ``sha256``/``md5``/``sha1``/``sm3``/``blake3``
    (declared digests) set one field each, as tus clients send them. Anything else is refused.
    """
    if not header or not header.strip():
        raise MalformedMetadata(
            "the upload has no Upload-Metadata; send at least 'case <base64 case number>' "
            "(or 'metadata <base64 JSON>')"
        )
    if len(header) > MAX_METADATA_HEADER:
        raise MalformedMetadata(f"Upload-Metadata exceeds {MAX_METADATA_HEADER} characters")
    pairs: dict[str, str] = {}
    for item in header.split(","):
        fields = item.strip().split(" ")
        if len(fields) > 2 or not fields[0]:
            raise MalformedMetadata(
                f"Upload-Metadata: {item.strip()[:80]!r} is not 'key base64value'"
            )
        key = fields[0]
        if key in pairs:
            raise MalformedMetadata(f"Upload-Metadata: key {key!r} appears twice")
        try:
            raw = base64.b64decode(fields[1], validate=True) if len(fields) == 2 else b""
            pairs[key] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise MalformedMetadata(
                f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text"
            ) from e
    obj: dict[str, Any] = {}
    if "metadata" in pairs:
        try:
            loaded = json.loads(pairs.pop("metadata"))
        except ValueError as e:
            raise MalformedMetadata(f"Upload-Metadata: 'metadata' is not JSON: {e}") from e
        if not isinstance(loaded, dict):
            raise MalformedMetadata("Upload-Metadata: 'metadata' must be a JSON object")
        obj = loaded
    declared = dict(obj.get("declared_digests") or {})
    for key, value in pairs.items():
        if key in DIGEST_KEYS:
            target, where = declared, key
        elif key in FIELD_KEYS:
            target, where = obj, FIELD_KEYS[key]
        else:
            raise MalformedMetadata(
                f"Upload-Metadata: unknown key {key!r}; known are metadata, "
                + ", ".join([*FIELD_KEYS, *DIGEST_KEYS])
            )
        if where in target and target[where] != value:
            raise MalformedMetadata(f"Upload-Metadata: {key!r} contradicts 'metadata'")
        target[where] = value
    if declared:
        obj["declared_digests"] = declared
    # the intake's own parser: the same rules, the same messages
    return intake_service.parse_metadata(json.dumps(obj, ensure_ascii=False))


# --- the staged file --------------------------------------------------------------------


def staged_path(ctx: AppContext, upload_id: str) -> Path:
    return ctx.settings.uploads_dir / f"{upload_id}.part"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _disk(what: str) -> Iterator[None]:
    """An OS error on the staging disk as the storage error it is."""
    try:
        yield
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise StorageFull(f"the staging disk is full ({what}); nothing more was kept") from e
        raise StorageError(f"cannot {what}: {e.strerror or e}") from e


# --- rows -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UploadState:
    """What HEAD answers."""

    id: str
    length: int
    offset: int
    state: str
    evidence_id: str | None
    expires_at: datetime


def _expires(ctx: AppContext, row: UploadSession) -> datetime:
    return row.updated_at + timedelta(seconds=ctx.settings.upload_expiry_seconds)


def _state(ctx: AppContext, row: UploadSession) -> UploadState:
    return UploadState(
        id=row.id,
        length=row.upload_length,
        offset=row.upload_offset,
        state=row.state,
        evidence_id=row.evidence_id,
        expires_at=_expires(ctx, row),
    )


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _load(ctx: AppContext, account: Account, upload_id: str) -> UploadSession:
    """The caller's upload; another account's is not shown to exist."""
    with ctx.session() as session:
        row = session.get(UploadSession, upload_id)
        if row is None or row.account_name != account.name:
            raise UnknownUpload(f"no upload {upload_id} of yours")
        session.expunge(row)
    row.updated_at = _aware(row.updated_at)
    row.created_at = _aware(row.created_at)
    if row.state == ABANDONED or (row.state == OPEN and _expires(ctx, row) <= utc_now()):
        raise UploadExpired(
            f"upload {upload_id} expired (no byte for "
            f"{ctx.settings.upload_expiry_seconds:g} s) and was abandoned; start a new upload"
        )
    if row.state == TERMINATED:
        raise UnknownUpload(f"upload {upload_id} was terminated")
    return row


def _open_only(row: UploadSession) -> None:
    if row.state != OPEN:
        raise InvalidState(
            f"upload {row.id} is {row.state}"
            + (f" (evidence {row.evidence_id})" if row.evidence_id else "")
            + "; start a new upload"
        )


def _prepared(
    ctx: AppContext, account: Account, row: UploadSession
) -> intake_service.PreparedIntake:
    """Case, permission (decided again, and refusals recorded) and algorithms."""
    meta = intake_service.parse_metadata(row.metadata_json)
    return intake_service.prepare(ctx, account, meta)


def _save(ctx: AppContext, upload_id: str, **changes: Any) -> None:
    with ctx.session() as session:
        row = session.get(UploadSession, upload_id)
        assert row is not None
        for k, v in changes.items():
            setattr(row, k, v)
        session.add(row)
        session.commit()


# --- the operations ---------------------------------------------------------------------


def create(ctx: AppContext, account: Account, *, length: int, metadata: str | None) -> str:
    """Check everything that can be checked before a byte is sent; stage an empty file."""
    meta = parse_upload_metadata(metadata)
    prepared = intake_service.prepare(ctx, account, meta)  # case, permission, algorithms
    limit = ctx.settings.max_upload_bytes
    if length > limit:
        error = UploadTooLarge(
            f"the upload ({length} bytes) exceeds the limit of {limit} bytes "
            "(CUSTODY_MAX_UPLOAD_BYTES); nothing was stored"
        )
        intake_service.record_refusal(ctx, prepared, reason=error.message, code=error.code)
        raise error
    upload_id = str(uuid.uuid4())
    path = staged_path(ctx, upload_id)
    with _disk("stage the upload"):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(path.parent)
    now = utc_now()
    with ctx.session() as session:
        session.add(
            UploadSession(
                id=upload_id,
                case_number=meta.case,
                account_name=account.name,
                metadata_json=meta.model_dump_json(),
                upload_length=length,
                upload_offset=0,
                state=OPEN,
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    return upload_id


def status(ctx: AppContext, account: Account, upload_id: str) -> UploadState:
    """The durable offset (HEAD): what the server holds after its last fsync."""
    row = _load(ctx, account, upload_id)
    if row.state == REFUSED:
        _open_only(row)
    return _state(ctx, row)


@contextlib.contextmanager
def _locked(path: Path, upload_id: str) -> Iterator[BinaryIO]:
    """The staged file open for appending, held by this request alone."""
    try:
        f = path.open("r+b")
    except FileNotFoundError as e:
        raise StorageError(
            f"the staged file of upload {upload_id} is missing; start a new upload"
        ) from e
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise UploadBusy(
                f"another request is appending to upload {upload_id}; wait for it to end "
                "(HEAD tells the offset), then continue"
            ) from e
        yield f
    finally:
        f.close()


def _durable(ctx: AppContext, row: UploadSession, f: BinaryIO) -> int:
    """The recorded offset, with bytes written after the last fsync cut off."""
    size = os.fstat(f.fileno()).st_size
    durable = min(size, row.upload_offset)
    if size != durable:
        f.truncate(durable)
        os.fsync(f.fileno())
    if durable != row.upload_offset:  # the file lost bytes it had made durable
        _save(ctx, row.id, upload_offset=durable)
    return durable


@dataclass(frozen=True, kw_only=True)
class Appended:
    offset: int
    committed: intake_service.Committed | None  # the item, when this PATCH completed it
    evidence_id: str | None = None


def append_chunk(
    ctx: AppContext,
    account: Account,
    upload_id: str,
    *,
    offset: int,
    body: BinaryIO,
    content_length: int | None,
) -> Appended:
    """Append the body at ``offset`` (which must be the durable offset); complete the intake
    when the last byte is there."""
    row = _load(ctx, account, upload_id)
    _open_only(row)
    prepared = _prepared(ctx, account, row)
    prepared.hasher.close()
    path = staged_path(ctx, upload_id)
    with _locked(path, upload_id) as f:
        durable = _durable(ctx, row, f)
        if offset != durable:
            raise UploadOffsetMismatch(
                f"the PATCH starts at {offset}, the upload holds {durable} bytes; continue "
                "from the Upload-Offset that HEAD answers",
                offset=durable,
            )
        remaining = row.upload_length - durable
        if content_length is not None and content_length > remaining:
            raise InputError(
                f"the PATCH carries {content_length} bytes, but only {remaining} remain of "
                f"the upload's {row.upload_length}; nothing was appended"
            )
        written = _write(ctx, row, f, body, durable)
        if written < row.upload_length:
            return Appended(offset=written, committed=None)
        # still holding the upload: a second completing PATCH waits (409 busy), then finds
        # it completed, so one upload never becomes two items
        committed = finish(ctx, account, upload_id)
    return Appended(offset=written, committed=committed, evidence_id=committed.evidence_id)


def _write(ctx: AppContext, row: UploadSession, f: BinaryIO, body: BinaryIO, start: int) -> int:
    """Write the body at ``start``, fsync and record every SYNC_BYTES and at the end."""
    f.seek(start)
    position = synced = start
    too_long = False

    def sync() -> None:
        nonlocal synced
        if position == synced:
            return
        with _disk("make the upload durable"):
            f.flush()
            os.fsync(f.fileno())
        synced = position
        _save(ctx, row.id, upload_offset=position, updated_at=utc_now())

    try:
        while True:
            chunk = body.read(CHUNK_SIZE)
            if not chunk:
                break
            room = row.upload_length - position
            if len(chunk) > room:
                chunk, too_long = chunk[:room], True
            with _disk("write the upload"):
                f.write(chunk)
            position += len(chunk)
            if too_long:
                break
            if position - synced >= SYNC_BYTES:
                sync()
    except UploadAborted:
        sync()  # what arrived is kept: the client resumes from it
        raise
    sync()
    if too_long:
        raise InputError(
            f"the PATCH carries more bytes than the upload's {row.upload_length}; the upload "
            f"holds the first {position}, the rest was not kept"
        )
    return position


def finish(ctx: AppContext, account: Account, upload_id: str) -> intake_service.Committed:
    """The whole file is staged: hash it, compare the declared digests, then store and
    commit it as any intake is (the row's state changes in the same transaction)."""
    row = _load(ctx, account, upload_id)
    _open_only(row)
    path = staged_path(ctx, upload_id)
    prepared = _prepared(ctx, account, row)
    try:
        with _disk("read the staged upload"), path.open("rb") as f:
            head = f.read(HEAD_BYTES)
            if detect_format(head) is None:  # an opaque file (or one raw image): check first
                f.seek(0)
                with MultiHasher(prepared.hasher.algorithms) as hasher:
                    while chunk := f.read(CHUNK_SIZE):
                        hasher.update(chunk)
                    digests, size = hasher.hexdigests(), hasher.size
                intake_service.check_declared_file(ctx, prepared, digests, size)
            f.seek(0)
            edges = intake_service.EdgeCapture(f)
            stored = intake_service.store_content(ctx, prepared, edges)  # type: ignore[arg-type]

        def completed(session: Session, evidence_id: str) -> None:
            done = session.get(UploadSession, upload_id)
            assert done is not None
            done.state, done.evidence_id, done.closed_at = COMPLETED, evidence_id, utc_now()
            session.add(done)

        committed = intake_service.commit_intake(
            ctx,
            prepared,
            stored,
            filename=None,
            content_type=prepared.meta.content_type,
            head=edges.head,
            tail=edges.tail,
            within=completed,
        )
    except (DigestMismatch, ImageError, UploadTooLarge):
        # refused (and recorded) by the intake's rules: the upload is over
        prepared.hasher.close()
        _save(ctx, upload_id, state=REFUSED, closed_at=utc_now())
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
    return committed


def terminate(ctx: AppContext, account: Account, upload_id: str) -> None:
    """DELETE: the upload ends without an item; its staged bytes are removed."""
    row = _load(ctx, account, upload_id)
    _open_only(row)
    _prepared(ctx, account, row).hasher.close()  # permission decided (and refusals recorded)
    path = staged_path(ctx, upload_id)
    with _locked(path, upload_id):
        _save(ctx, upload_id, state=TERMINATED, closed_at=utc_now())
    path.unlink(missing_ok=True)


# --- expiry (run by the sweep) ----------------------------------------------------------


def expire(ctx: AppContext, now: datetime | None = None) -> int:
    """Abandon open uploads idle for longer than the expiry, recording each on the ledger,
    and remove staged files no open upload owns; returns how many were abandoned."""
    now = now or utc_now()
    cutoff = now - timedelta(seconds=ctx.settings.upload_expiry_seconds)
    with ctx.session() as session:
        stale = list(
            session.execute(
                select(UploadSession).where(
                    col(UploadSession.state) == OPEN, col(UploadSession.updated_at) < cutoff
                )
            ).scalars()
        )
        abandoned: list[str] = []
        for row in stale:
            if _busy(staged_path(ctx, row.id)):
                continue  # a request is appending right now: not idle after all
            abandoned.append(row.id)
            meta = json.loads(row.metadata_json)
            append(
                session,
                EntryDraft(
                    actor=SYSTEM,
                    department=SYSTEM,
                    action=Action.UPLOAD_ABANDONED,
                    case=row.case_number,
                    details={
                        "upload": row.id,
                        "uploaded_by": row.account_name,
                        "reason": "expired: no byte arrived for "
                        f"{ctx.settings.upload_expiry_seconds:g} s",
                        "filename": meta.get("filename"),
                        "seal_no": meta.get("seal_no"),
                        "declared_digests": meta.get("declared_digests") or {},
                        "upload_length": row.upload_length,
                        "received": row.upload_offset,
                        "created": rfc3339(_aware(row.created_at)),
                        "last_byte": rfc3339(_aware(row.updated_at)),
                    },
                ),
            )
            row.state, row.closed_at = ABANDONED, now
            session.add(row)
            session.commit()  # one entry and its state change at a time
        open_ids = set(
            session.execute(
                select(UploadSession.id).where(col(UploadSession.state) == OPEN)  # type: ignore[call-overload]
            ).scalars()
        )
    staged = ctx.settings.uploads_dir
    if staged.is_dir():
        stray_cutoff = now.timestamp() - ctx.settings.staging_max_age_seconds
        for p in staged.iterdir():
            if not p.name.endswith(".part") or p.name.removesuffix(".part") in open_ids:
                continue
            known = p.name.removesuffix(".part") in abandoned
            with contextlib.suppress(FileNotFoundError):
                if known or p.stat().st_mtime < stray_cutoff or _closed(ctx, p):
                    p.unlink()
    return len(abandoned)


def _busy(path: Path) -> bool:
    """Whether a request holds the staged file (see _locked)."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return False
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return False


def _closed(ctx: AppContext, path: Path) -> bool:
    """A staged file whose upload is over (completed, refused, terminated): a leftover."""
    with ctx.session() as session:
        row = session.get(UploadSession, path.name.removesuffix(".part"))
        return row is not None and row.state != OPEN
