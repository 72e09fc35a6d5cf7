"""Multi-part intake sessions: an image's segments uploaded one by one, then completed."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, BinaryIO, cast

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import AccountDep, ContextDep, guard
from api.openapi import problems
from api.routers.evidence import MAX_FILENAME, check_recorded, intake_answer
from api.schemas import EvidencePublic
from api.services import intake_sessions as sessions
from api.streaming import RawBodyReader
from custody import policy
from custody.errors import MalformedMetadata

router = APIRouter(prefix="/api/v1/intake-sessions", tags=["evidence"])

OPEN_DOC = """Open a multi-part intake: one acquisition (E01…E0n, Ex01…, split raw .001…) as
one evidence item.

The body is the intake metadata (as for `POST /api/v1/evidence`), optionally with
`"format": "ewf"` or `"raw"`. Then `PUT …/parts/{n}` each part (raw body, any order, each
hashed and stored as it arrives; re-sending the same bytes answers as before, so an
interrupted upload resumes with what `GET` says is missing) and `POST …/complete`.
"""


class SessionPartPublic(BaseModel):
    index: int
    name: str
    size: int
    digests: dict[str, str]
    received_at: datetime


class IntakeSessionPublic(BaseModel):
    id: str
    case: str
    state: str
    created_at: datetime
    closed_at: datetime | None
    evidence: str | None
    format: str | None
    parts: list[SessionPartPublic]
    missing: list[int]


Intake = guard(policy.Permission.EVIDENCE_INTAKE)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IntakeSessionPublic,
    description=OPEN_DOC,
    dependencies=[Intake],
    responses=problems(404, 422),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "required": True,
        }
    },
)
async def open_session(
    request: Request, response: Response, ctx: ContextDep, account: AccountDep
) -> dict[str, Any]:
    body = await request.body()
    if len(body) > 1024 * 1024:
        raise MalformedMetadata("the session metadata exceeds 1 MiB; send a small JSON object")
    session_id = await run_in_threadpool(sessions.open_session, ctx, account, body)
    response.headers["Location"] = f"/api/v1/intake-sessions/{session_id}"
    return await run_in_threadpool(sessions.describe, ctx, account, session_id)


@router.get(
    "/{session_id}",
    response_model=IntakeSessionPublic,
    dependencies=[Intake],
    responses=problems(404),
)
def show_session(session_id: str, ctx: ContextDep, account: AccountDep) -> dict[str, Any]:
    """What the session holds: its parts with their digests, and the numbers still missing."""
    return sessions.describe(ctx, account, session_id)


@router.put(
    "/{session_id}/parts/{index}",
    response_model=SessionPartPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Intake],
    responses={
        200: {"description": "The same bytes were already stored as this part"},
        **problems(404, 409, 413, 422),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "required": True,
        }
    },
)
async def put_part(
    request: Request,
    response: Response,
    ctx: ContextDep,
    account: AccountDep,
    session_id: str,
    index: Annotated[int, Path(ge=1, le=sessions.MAX_PARTS)],
    name: Annotated[str, Query(max_length=MAX_FILENAME, description="The part's file name")] = "",
) -> dict[str, Any]:
    check_recorded(name, "the part's name", MAX_FILENAME)
    body = cast(BinaryIO, RawBodyReader(request.stream()))
    part, new = await anyio.to_thread.run_sync(
        functools.partial(sessions.put_part, ctx, account, session_id, index, name, body)
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    return part


@router.post(
    "/{session_id}/complete",
    response_model=EvidencePublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Intake],
    responses=problems(404, 409, 422, 503),
)
async def complete_session(
    response: Response, ctx: ContextDep, account: AccountDep, session_id: str
) -> EvidencePublic:
    """Check the set (every part there, in order), both levels, then record the one item."""
    committed = await run_in_threadpool(sessions.complete, ctx, account, session_id)
    response.headers["Location"] = f"/api/v1/evidence/{committed.evidence_id}"
    return await run_in_threadpool(intake_answer, ctx, committed)


@router.delete(
    "/{session_id}",
    response_model=IntakeSessionPublic,
    dependencies=[Intake],
    responses=problems(404, 409),
)
def abandon_session(session_id: str, ctx: ContextDep, account: AccountDep) -> dict[str, Any]:
    """Close an open session without an item; parts nothing references are registered."""
    return sessions.abandon(ctx, account, session_id)
