"""Evidence: intake (multipart or raw stream), metadata, content download, custody history."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Annotated, BinaryIO, cast

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.authz import authorized_evidence, get_evidence, require_purpose
from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.schemas import (
    CustodyEntryPublic,
    CustodyHistoryPublic,
    EvidencePublic,
    InclusionProofPublic,
)
from api.services import intake as intake_service
from api.services.checkpoints import sign_checkpoint
from api.services.evidence_view import evidence_public, record_touch
from api.streaming import MultipartIntakeReader, RawBodyReader, boundary_of
from custody import ledger_store, policy
from custody.checkpoint import parse_checkpoint
from custody.errors import MalformedMetadata, UploadTooLarge
from custody.ledger import Action

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])

INTAKE_DOC = """Take in one evidence file.

Two forms, both streamed (never spooled whole) and hashed in one pass:

* `multipart/form-data` with a `metadata` part (JSON, **sent before** the `file` part)
  and a `file` part;
* a raw body (`application/octet-stream`) with the metadata JSON in the `metadata`
  query parameter.

Metadata: `{"case": "2026-XS-0117", "filename": …, "description": …, "seal_no": …,
"media": {…}, "declared_digests": {"sha256": …}, "algorithms": ["md5"]}`.
A declared digest that differs from the computed one is refused with 422 and recorded.
"""


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise UploadTooLarge(
            f"the request body ({length} bytes) exceeds the limit of {limit} bytes "
            "(CUSTODY_MAX_UPLOAD_BYTES); nothing was stored"
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidencePublic,
    description=INTAKE_DOC,
    dependencies=[guard(policy.Action.EVIDENCE_INTAKE)],
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["metadata", "file"],
                        "properties": {
                            "metadata": {"type": "string", "description": "JSON"},
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
            "required": True,
        }
    },
)
async def intake(
    request: Request,
    response: Response,
    ctx: ContextDep,
    account: AccountDep,
    metadata: Annotated[str | None, Query(description="metadata JSON (raw-body form)")] = None,
) -> EvidencePublic:
    content_type = request.headers.get("content-type", "")
    limit = ctx.settings.max_upload_bytes
    if content_type.startswith("multipart/form-data"):
        reader = MultipartIntakeReader(request.stream(), boundary_of(content_type))
        await anyio.to_thread.run_sync(reader.prepare)
        if reader.metadata_bytes is None or not reader.metadata_before_file:
            raise MalformedMetadata(
                "the 'metadata' part must come before the 'file' part, so the intake can be "
                "checked before any byte is stored"
            )
        meta = intake_service.parse_metadata(reader.metadata_bytes)
        prepared = await run_in_threadpool(intake_service.prepare, ctx, account, meta)
        try:
            _check_length(request, limit + 1024 * 1024)
        except UploadTooLarge as e:
            await run_in_threadpool(
                intake_service.record_refusal, ctx, prepared, reason=e.message, code=e.code
            )
            raise
        stored = await anyio.to_thread.run_sync(
            intake_service.store_content, ctx, prepared, cast(BinaryIO, reader)
        )
        await anyio.to_thread.run_sync(reader.finish)
        filename, file_type = reader.filename, reader.content_type
    else:
        meta = intake_service.parse_metadata(metadata)
        prepared = await run_in_threadpool(intake_service.prepare, ctx, account, meta)
        try:
            _check_length(request, limit)
        except UploadTooLarge as e:
            await run_in_threadpool(
                intake_service.record_refusal, ctx, prepared, reason=e.message, code=e.code
            )
            raise
        raw = RawBodyReader(request.stream())
        stored = await anyio.to_thread.run_sync(
            intake_service.store_content, ctx, prepared, cast(BinaryIO, raw)
        )
        filename = None
        file_type = content_type or None
    evidence_id = await run_in_threadpool(
        intake_service.commit_intake,
        ctx,
        prepared,
        stored,
        filename=filename,
        content_type=file_type,
    )
    response.headers["Location"] = f"/api/v1/evidence/{evidence_id}"

    def _show() -> EvidencePublic:
        with ctx.session() as session:
            return evidence_public(session, get_evidence(session, evidence_id))

    return await run_in_threadpool(_show)


@router.get(
    "/{evidence_id}",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Action.EVIDENCE_VIEW)],
)
def show_evidence(
    evidence_id: str,
    session: SessionDep,
    account: AccountDep,
    purpose: Annotated[str | None, Query(max_length=1000)] = None,
) -> EvidencePublic:
    row, _ = authorized_evidence(session, account, policy.Action.EVIDENCE_VIEW, evidence_id)
    details = {"what": "metadata", **({"purpose": purpose} if purpose else {})}
    record_touch(session, account, Action.VIEW, row, details)
    session.commit()
    return evidence_public(session, row)


def content_disposition(filename: str) -> str:
    """A safe attachment header: the recorded name is never trusted as a path."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")
    base = base.strip(". ") or "evidence.bin"
    ascii_name = base.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(base)}"


@router.get(
    "/{evidence_id}/content",
    response_class=StreamingResponse,
    dependencies=[guard(policy.Action.EVIDENCE_DOWNLOAD)],
)
def download(
    evidence_id: str,
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
    purpose: Annotated[str | None, Query(max_length=1000, description="why (required)")] = None,
) -> StreamingResponse:
    row, _ = authorized_evidence(
        session, account, policy.Action.EVIDENCE_DOWNLOAD, evidence_id, purpose=purpose
    )
    stated = require_purpose(policy.Action.EVIDENCE_DOWNLOAD, purpose)
    chunks: Iterator[bytes] = ctx.store.open(row.object_key, row.object_version)
    record_touch(session, account, Action.DOWNLOAD, row, {"purpose": stated, "size": row.size})
    session.commit()
    digests = json.loads(row.digests)
    headers = {
        "Content-Disposition": content_disposition(row.original_filename),
        "Content-Length": str(row.size),
        "X-Custody-SHA256": digests["sha256"],
        "X-Custody-BLAKE3": digests["blake3"],
        "Repr-Digest": "sha-256=:"
        + base64.b64encode(bytes.fromhex(digests["sha256"])).decode()
        + ":",
    }
    return StreamingResponse(chunks, media_type=row.content_type, headers=headers)


@router.get(
    "/{evidence_id}/custody",
    response_model=CustodyHistoryPublic,
    dependencies=[guard(policy.Action.EVIDENCE_VIEW)],
)
def custody_history(
    evidence_id: str, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> CustodyHistoryPublic:
    """Every entry about this evidence, each with an inclusion proof against one checkpoint."""
    row, _ = authorized_evidence(session, account, policy.Action.EVIDENCE_VIEW, evidence_id)
    record_touch(session, account, Action.VIEW, row, {"what": "custody history"})
    checkpoint = sign_checkpoint(ctx, session)
    session.commit()
    body = parse_checkpoint(checkpoint.note.split("\n\n", 1)[0] + "\n")
    entries = []
    for e in ledger_store.entries_of_evidence(session, row.id):
        if e.seq >= checkpoint.size:
            continue
        proof = ledger_store.inclusion_proof(session, e.seq, checkpoint.size)
        entries.append(
            CustodyEntryPublic(
                seq=e.seq,
                hash=e.entry_hash,
                canonical=base64.b64encode(e.canonical).decode(),
                entry=json.loads(e.canonical),
                proof=InclusionProofPublic(
                    leaf_index=e.seq,
                    tree_size=checkpoint.size,
                    hashes=[ledger_store.b64(h) for h in proof],
                ),
            )
        )
    return CustodyHistoryPublic(
        evidence=row.id,
        checkpoint=checkpoint.note,
        tree_size=checkpoint.size,
        root=ledger_store.b64(body.root),
        entries=entries,
    )
