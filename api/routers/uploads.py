"""Resumable intake over tus 1.0 (core, creation, termination): ``/api/v1/uploads``.

``POST`` creates an upload (``Upload-Length``, ``Upload-Metadata``; the metadata is checked
as an intake's before a byte is sent), ``HEAD`` answers the durable offset, ``PATCH``
(``application/offset+octet-stream`` at ``Upload-Offset``) appends, and the PATCH that
brings the last byte completes the intake and answers the evidence record. ``DELETE``
terminates. Every answer, errors included, carries ``Tus-Resumable: 1.0.0``.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, BinaryIO, cast

import anyio.to_thread
from fastapi import APIRouter, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import AccountDep, ContextDep, guard
from api.openapi import problems
from api.routers.evidence import intake_answer
from api.schemas import EvidencePublic
from api.services import uploads
from api.streaming import RawBodyReader
from custody import policy
from custody.errors import InputError, TusVersionUnsupported, UnsupportedMediaType

PREFIX = "/api/v1/uploads"
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"

router = APIRouter(prefix=PREFIX, tags=["evidence"])

Intake = guard(policy.Permission.EVIDENCE_INTAKE)

TusHeader = Annotated[
    str | None,
    Header(alias="Tus-Resumable", description="Must be 1.0.0", max_length=32),
]

CREATE_DOC = """Create a resumable upload of one evidence file (tus 1.0 creation).

`Upload-Length` is the file's size; `Upload-Metadata` carries the intake metadata as tus
key/base64-value pairs: either `metadata` (the whole JSON object `POST /api/v1/evidence`
takes) or the keys `case`, `filename` (or `name`), `filetype` (or `type`), `description`,
`seal_no` and `sha256`/`md5`/`sha1`/`sm3`/`blake3` (declared digests). The case, your permission and
the metadata are checked now, before a byte is sent. Then PATCH the bytes; the PATCH that
brings the last byte completes the intake (declared digests checked as for any intake).
"""


def check_tus(value: str | None) -> None:
    if value != TUS_VERSION:
        raise TusVersionUnsupported(
            f"this server speaks tus {TUS_VERSION}; send the header Tus-Resumable: "
            f"{TUS_VERSION} (got {value!r})"
        )


def _number(value: str | None, name: str) -> int:
    if value is None or not value.isdigit() or len(value) > 19:
        raise InputError(f"{name} must be a non-negative integer, not {value!r}")
    return int(value)


class TusHeaders:
    """Pure ASGI layer: every answer under the uploads prefix says ``Tus-Resumable``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"tus-resumable"
                ]
                headers.append((b"tus-resumable", TUS_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_header)


@router.options(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Intake],
    response_class=Response,
)
def capabilities(ctx: ContextDep) -> Response:
    """What this tus server supports: version, extensions, the largest upload."""
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(ctx.settings.max_upload_bytes),
        },
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    description=CREATE_DOC,
    dependencies=[Intake],
    response_class=Response,
    responses={
        201: {"description": "Created; Location names the upload"},
        **problems(404, 412, 413, 422, 502, 507),
    },
)
async def create_upload(
    request: Request,
    ctx: ContextDep,
    account: AccountDep,
    tus_resumable: TusHeader = None,
    upload_length: Annotated[
        str | None, Header(alias="Upload-Length", max_length=32, description="bytes")
    ] = None,
    upload_metadata: Annotated[
        str | None, Header(alias="Upload-Metadata", max_length=uploads.MAX_METADATA_HEADER)
    ] = None,
    upload_defer_length: Annotated[
        str | None, Header(alias="Upload-Defer-Length", max_length=32)
    ] = None,
) -> Response:
    check_tus(tus_resumable)
    if upload_defer_length is not None:
        raise InputError("Upload-Defer-Length is not supported: send Upload-Length")
    length = _number(upload_length, "Upload-Length")
    body_length = request.headers.get("content-length")
    if body_length not in (None, "0"):
        raise InputError("send the bytes with PATCH after creating the upload, not with POST")
    upload_id = await run_in_threadpool(
        functools.partial(uploads.create, ctx, account, length=length, metadata=upload_metadata)
    )
    return Response(
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"{PREFIX}/{upload_id}", "Upload-Offset": "0"},
    )


@router.head(
    "/{upload_id}",
    dependencies=[Intake],
    response_class=Response,
    responses={
        200: {"description": "Upload-Offset: the durable offset; Upload-Length"},
        **problems(404, 409, 410, 412),
    },
)
def upload_offset(
    upload_id: str, ctx: ContextDep, account: AccountDep, tus_resumable: TusHeader = None
) -> Response:
    """The durable offset: the bytes the server holds after its last fsync."""
    check_tus(tus_resumable)
    state = uploads.status(ctx, account, upload_id)
    headers = {
        "Upload-Offset": str(state.offset),
        "Upload-Length": str(state.length),
        "Cache-Control": "no-store",
    }
    if state.evidence_id:  # completed: where its item is (if the answer was lost)
        headers["Location"] = f"/api/v1/evidence/{state.evidence_id}"
        headers["Custody-Evidence"] = state.evidence_id
    return Response(status_code=status.HTTP_200_OK, headers=headers)


@router.patch(
    "/{upload_id}",
    dependencies=[Intake],
    response_model=EvidencePublic,
    responses={
        200: {"description": "The last byte arrived: the intake is complete (the item)"},
        204: {"description": "Appended; Upload-Offset is the new durable offset"},
        **problems(404, 409, 410, 412, 413, 415, 422, 502, 507),
    },
    openapi_extra={
        "requestBody": {
            "content": {OFFSET_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def append(
    request: Request,
    response: Response,
    upload_id: str,
    ctx: ContextDep,
    account: AccountDep,
    tus_resumable: TusHeader = None,
    upload_offset: Annotated[str | None, Header(alias="Upload-Offset", max_length=32)] = None,
) -> Any:
    check_tus(tus_resumable)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != OFFSET_MEDIA_TYPE:
        raise UnsupportedMediaType(f"a PATCH body is {OFFSET_MEDIA_TYPE}, not {media!r}")
    offset = _number(upload_offset, "Upload-Offset")
    length = request.headers.get("content-length")
    body = cast(BinaryIO, RawBodyReader(request.stream()))
    done = await anyio.to_thread.run_sync(
        functools.partial(
            uploads.append_chunk,
            ctx,
            account,
            upload_id,
            offset=offset,
            body=body,
            content_length=int(length) if length and length.isdigit() else None,
        )
    )
    if done.committed is None:
        return Response(
            status_code=status.HTTP_204_NO_CONTENT, headers={"Upload-Offset": str(done.offset)}
        )
    response.headers["Upload-Offset"] = str(done.offset)
    response.headers["Location"] = f"/api/v1/evidence/{done.committed.evidence_id}"
    return await run_in_threadpool(intake_answer, ctx, done.committed)


@router.delete(
    "/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Intake],
    response_class=Response,
    responses=problems(404, 409, 410, 412),
)
def terminate(
    upload_id: str, ctx: ContextDep, account: AccountDep, tus_resumable: TusHeader = None
) -> Response:
    """Terminate an unfinished upload: its staged bytes are removed, nothing is recorded."""
    check_tus(tus_resumable)
    uploads.terminate(ctx, account, upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
