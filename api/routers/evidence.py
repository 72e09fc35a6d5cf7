"""Evidence: intake (multipart or raw stream), metadata, content download, custody history."""

from __future__ import annotations

import base64
import functools
import json
from typing import Annotated, BinaryIO, cast

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.authz import authorized_evidence, get_evidence
from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.downloads import RecordedDownload
from api.headers import content_disposition, safe_media_type
from api.openapi import problems
from api.schemas import (
    CustodyEntryPublic,
    CustodyHistoryPublic,
    EvidencePublic,
    InclusionProofPublic,
    IntakeWarning,
)
from api.services import content
from api.services import intake as intake_service
from api.services.checkpoints import sign_checkpoint
from api.services.evidence_view import evidence_public, record_touch
from api.streaming import MultipartIntakeReader, RawBodyReader, boundary_of
from custody import ledger_store, policy
from custody.checkpoint import parse_checkpoint
from custody.errors import InvalidCharacters, MalformedMetadata, UploadTooLarge
from custody.ledger import Action
from custody.text import verbatim_problem

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


MAX_FILENAME = 4096
MAX_CONTENT_TYPE = 255  # the width of evidence.content_type


def check_recorded(value: str | None, what: str, max_length: int) -> None:
    """A value the intake records verbatim must be storable: no NUL, within its column."""
    if value is None:
        return
    problem = verbatim_problem(value)
    if problem:
        raise InvalidCharacters(f"{what} holds {problem}; it cannot be recorded")
    if len(value) > max_length:
        raise MalformedMetadata(f"{what} is longer than {max_length} characters")


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
    dependencies=[guard(policy.Permission.EVIDENCE_INTAKE)],
    responses=problems(404, 413, 422, 502, 507),
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
        check_recorded(reader.filename, "the file part's filename", MAX_FILENAME)
        check_recorded(reader.content_type, "the file part's Content-Type", MAX_CONTENT_TYPE)
        meta = intake_service.parse_metadata(reader.metadata_bytes)
        prepared = await run_in_threadpool(intake_service.prepare, ctx, account, meta)
        try:
            _check_length(request, limit + 1024 * 1024)
        except UploadTooLarge as e:
            await run_in_threadpool(
                intake_service.record_refusal, ctx, prepared, reason=e.message, code=e.code
            )
            raise
        edges = intake_service.EdgeCapture(cast(BinaryIO, reader))
        stored = await anyio.to_thread.run_sync(
            intake_service.store_content, ctx, prepared, cast(BinaryIO, edges)
        )
        await anyio.to_thread.run_sync(reader.finish)
        filename, file_type = reader.filename, reader.content_type
    else:
        check_recorded(content_type or None, "the request's Content-Type", MAX_CONTENT_TYPE)
        meta = intake_service.parse_metadata(metadata)
        prepared = await run_in_threadpool(intake_service.prepare, ctx, account, meta)
        try:
            _check_length(request, limit)
        except UploadTooLarge as e:
            await run_in_threadpool(
                intake_service.record_refusal, ctx, prepared, reason=e.message, code=e.code
            )
            raise
        edges = intake_service.EdgeCapture(cast(BinaryIO, RawBodyReader(request.stream())))
        stored = await anyio.to_thread.run_sync(
            intake_service.store_content, ctx, prepared, cast(BinaryIO, edges)
        )
        filename = None
        file_type = content_type or None
    committed = await run_in_threadpool(
        functools.partial(
            intake_service.commit_intake,
            ctx,
            prepared,
            stored,
            filename=filename,
            content_type=file_type,
            head=edges.head,
            tail=edges.tail,
        )
    )
    response.headers["Location"] = f"/api/v1/evidence/{committed.evidence_id}"
    return await run_in_threadpool(intake_answer, ctx, committed)


def intake_answer(ctx: ContextDep, committed: intake_service.Committed) -> EvidencePublic:
    """The recorded item, with the warnings of its intake (e.g. a duplicate in the case)."""
    with ctx.session() as session:
        shown = evidence_public(session, get_evidence(session, committed.evidence_id))
    return shown.model_copy(update={"warnings": [IntakeWarning(**w) for w in committed.warnings]})


@router.get(
    "/{evidence_id}",
    response_model=EvidencePublic,
    dependencies=[guard(policy.Permission.EVIDENCE_VIEW)],
    responses=problems(404),
)
def show_evidence(
    evidence_id: str,
    session: SessionDep,
    account: AccountDep,
    purpose: Annotated[str | None, Query(max_length=1000)] = None,
) -> EvidencePublic:
    row, _ = authorized_evidence(session, account, policy.Permission.EVIDENCE_VIEW, evidence_id)
    details = {"what": "metadata", **({"purpose": purpose} if purpose else {})}
    record_touch(session, account, Action.VIEW, row, details)
    session.commit()
    return evidence_public(session, row)


DOWNLOAD_RESPONSES = {
    200: {
        "description": "The content, streamed; its digests are in the headers",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    },
    **problems(403, 404, 409, 502),
}


def _recorded_download(ctx: ContextDep, account: AccountDep, serving: content.Serving) -> Response:
    def ended(_: object) -> None:
        content.end(ctx, account, serving)

    digests = serving.digests
    headers = {
        "Content-Disposition": content_disposition(serving.filename),
        "Content-Length": str(serving.size),
        "X-Content-Type-Options": "nosniff",
        **({"X-Custody-Copy-Number": str(serving.copy_no)} if serving.copy_no else {}),
        **({"X-Custody-Part": str(serving.part)} if serving.part is not None else {}),
        "X-Custody-SHA256": digests["sha256"],
        "X-Custody-BLAKE3": digests["blake3"],
        "Repr-Digest": "sha-256=:"
        + base64.b64encode(bytes.fromhex(digests["sha256"])).decode()
        + ":",
    }
    return RecordedDownload(
        content.chunks(ctx, serving),
        delivery=serving.delivery,
        on_end=ended,
        # one segment is an image file, not the item's declared type
        media_type="application/octet-stream"
        if serving.part is not None
        else safe_media_type(serving.content_type),
        headers=headers,
    )


@router.get(
    "/{evidence_id}/content",
    response_class=StreamingResponse,
    dependencies=[guard(policy.Permission.EVIDENCE_DOWNLOAD)],
    responses=DOWNLOAD_RESPONSES,
)
def download(
    evidence_id: str,
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
    purpose: Annotated[str | None, Query(max_length=1000, description="why (required)")] = None,
) -> Response:
    """Stream the content; the ledger records the attempt first and what was delivered after.

    For an image of several parts this is the parts joined in order, which the item's
    top-level digests describe; ``/parts/{index}/content`` serves one segment file.
    """
    serving = content.start(ctx, session, account, evidence_id, purpose)
    return _recorded_download(ctx, account, serving)


@router.get(
    "/{evidence_id}/parts/{index}/content",
    response_class=StreamingResponse,
    dependencies=[guard(policy.Permission.EVIDENCE_DOWNLOAD)],
    responses=DOWNLOAD_RESPONSES,
)
def download_part(
    evidence_id: str,
    index: Annotated[int, Path(ge=1, le=100_000, description="1-based part number (E01 is 1)")],
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
    purpose: Annotated[str | None, Query(max_length=1000, description="why (required)")] = None,
) -> Response:
    """Stream one stored part of an image (a segment file, as the imager wrote it), recorded
    like any download and checked against that part's digests in the INTAKE entry."""
    serving = content.start(ctx, session, account, evidence_id, purpose, part=index)
    return _recorded_download(ctx, account, serving)


@router.get(
    "/{evidence_id}/custody",
    response_model=CustodyHistoryPublic,
    dependencies=[guard(policy.Permission.EVIDENCE_VIEW)],
    responses=problems(404),
)
def custody_history(
    evidence_id: str, ctx: ContextDep, session: SessionDep, account: AccountDep
) -> CustodyHistoryPublic:
    """Every entry about this evidence, each with an inclusion proof against one checkpoint."""
    row, _ = authorized_evidence(session, account, policy.Permission.EVIDENCE_VIEW, evidence_id)
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
