"""Intake: verify, then persist; persist, then acknowledge (DESIGN §3.1).

The order is the guarantee. The bytes are hashed while they are written to the store; every
declared digest is compared; the retention lock is applied; only then are the evidence row
and its INTAKE entry committed together. Any failure before that commit leaves at worst an
unreferenced immutable blob, and every refusal is itself recorded on the ledger.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from pydantic import ValidationError

from api.authz import authorize, visible_case
from api.context import AppContext
from api.schemas import FILE_NAME_TOO_LONG, IntakeMetadata
from api.services import orphans
from custody import policy
from custody.canonical import parse_json_object
from custody.digests import MultiHasher, compare_declared, normalize_declared, required_algorithms
from custody.errors import (
    CustodyError,
    DigestMismatch,
    FileNameTooLong,
    MalformedMetadata,
    StorageError,
)
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
    return meta.model_copy(update={"declared_digests": declared})


@dataclass(frozen=True, kw_only=True)
class PreparedIntake:
    meta: IntakeMetadata
    account: Account
    hasher: MultiHasher


def prepare(ctx: AppContext, account: Account, meta: IntakeMetadata) -> PreparedIntake:
    """Everything that can be refused before a byte is stored: case, permission, algorithms."""
    with ctx.session() as session:
        case = visible_case(session, meta.case)
        authorize(session, account, policy.Action.EVIDENCE_INTAKE, case=case)
    algorithms = required_algorithms(
        [*ctx.settings.extra_digests.split(","), *meta.algorithms], meta.declared_digests
    )
    return PreparedIntake(meta=meta, account=account, hasher=MultiHasher(algorithms))


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
) -> str:
    """Compare declared digests, lock the object, then commit row + INTAKE entry together.

    If anything fails after the store created the object, the object is recorded as
    unreferenced (ledger entry, else the register file) before the failure is reported.
    """
    try:
        return _commit_intake(ctx, prepared, stored, filename=filename, content_type=content_type)
    except Exception as e:
        if stored.created:
            _record_unreferenced(ctx, prepared, stored, e)
        raise


def _record_unreferenced(
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


def _commit_intake(
    ctx: AppContext,
    prepared: PreparedIntake,
    stored: StoredObject,
    *,
    filename: str | None,
    content_type: str | None,
) -> str:
    meta = prepared.meta
    mismatches = compare_declared(meta.declared_digests, stored.digests)
    if mismatches:
        text = "; ".join(f"{a}: declared {d}, computed {c}" for a, d, c in mismatches)
        record_refusal(
            ctx,
            prepared,
            reason=f"declared digest does not match: {text}",
            code=DigestMismatch.code,
            computed=stored.digests,
            size=stored.size,
        )
        raise DigestMismatch(
            f"the content does not match the declared digest ({text}); nothing was recorded "
            "as evidence. Check the file and the value printed by the imaging tool",
            mismatches=[{"algorithm": a, "declared": d, "computed": c} for a, d, c in mismatches],
        )
    now = utc_now()
    until = now + timedelta(days=ctx.settings.retention_days)
    info = ctx.store.stat(stored.key, stored.version_id)
    if info.lock.retain_until is None or info.lock.retain_until < until:
        lock = ctx.store.set_retention(stored.key, stored.version_id, until)
    else:  # identical content already retained for longer
        lock = info.lock
    retained_until = lock.retain_until or until
    evidence_id = str(uuid.uuid4())
    name = meta.filename if meta.filename is not None else (filename or "")
    media_type = meta.content_type or content_type or "application/octet-stream"
    with ctx.session() as session:
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
                    "size": stored.size,
                    "digests": stored.digests,
                    "declared_digests": meta.declared_digests,
                    "seal_no": meta.seal_no,
                    "object_key": stored.key,
                    "object_version": stored.version_id,
                    "storage": ctx.store.name,
                    "retention_mode": lock.mode,
                    "retention_until": rfc3339(retained_until),
                },
            ),
            time=now,
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
                size=stored.size,
                digests=json.dumps(stored.digests, sort_keys=True),
                declared_digests=json.dumps(meta.declared_digests, sort_keys=True),
                object_key=stored.key,
                object_version=stored.version_id,
                storage_backend=ctx.store.name,
                intake_time=now,
                technician=prepared.account.name,
                technician_department=prepared.account.department,
                retention_until=retained_until,
                intake_seq=sealed.seq,
            )
        )
        session.commit()
    return evidence_id
