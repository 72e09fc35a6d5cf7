"""The outermost layer: every request gets an id, and nothing escapes as a bare 500.

FastAPI's exception handlers cover errors raised by routes and dependencies. What they miss
— an error in a middleware below them, a bug, a dropped database connection — would reach
Starlette's ServerErrorMiddleware and leave as ``500 text/plain``. This middleware sits just
inside it and answers problem JSON instead: ``database-unavailable`` (503) when the
database cannot be reached, ``internal-error`` (500) for anything else, always with the
request id that the log line (with its traceback) carries too. The id is also sent as
``X-Request-ID`` on every response. Nothing from the request's headers is logged, and SQL
parameters are hidden, so no token or token hash reaches the log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import custody_problem, problem
from custody.errors import CustodyError, DatabaseUnavailable, InternalError, StorageFull

log = logging.getLogger("custody.api")

REQUEST_ID_HEADER = "X-Request-ID"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the single member of an exception group, and their causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup) and len(current.exceptions) == 1:
            current = current.exceptions[0]
            continue
        yield current
        current = current.__cause__ or current.__context__


SQLITE_UNAVAILABLE = frozenset(
    {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL"}
)
"""SQLite reports bugs (no such table, syntax) and outages alike as OperationalError; these
result codes (and every SQLITE_IOERR_*) are the outages."""


def database_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full": the disk under the database, not a bug."""
    return any(
        isinstance(e, sa_exc.OperationalError)
        and getattr(e.orig, "sqlite_errorname", None) == "SQLITE_FULL"
        for e in _chain(exc)
    )


def database_unreachable(exc: BaseException) -> bool:
    """A lost, refused or busy database, as opposed to a bad statement (which is a bug)."""
    for e in _chain(exc):
        if isinstance(e, sa_exc.TimeoutError):  # no pooled connection became free
            return True
        if not isinstance(e, sa_exc.DBAPIError):
            continue
        if e.connection_invalidated:
            return True
        if isinstance(e, sa_exc.OperationalError | sa_exc.InterfaceError):
            name = getattr(e.orig, "sqlite_errorname", None)
            if name is None:  # PostgreSQL: connection failures, cancellations, deadlocks
                return True
            return name in SQLITE_UNAVAILABLE or name.startswith("SQLITE_IOERR")
    return False


def _hide_sql_parameters(exc: BaseException) -> None:
    for e in _chain(exc):
        if isinstance(e, sa_exc.StatementError):
            e.hide_parameters = True


def _unwrap(exc: BaseException) -> BaseException:
    for e in _chain(exc):
        return e
    return exc


class ErrorBoundary:
    """ASGI middleware: request ids, and problem JSON for every unexpected exception."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as raised:
            exc = _unwrap(raised)
            _hide_sql_parameters(exc)
            request = Request(scope)
            where = f"request {request_id}: {request.method} {request.url.path}"
            if isinstance(exc, ClientDisconnect):
                log.info("%s: the client disconnected", where)
                return
            if started:
                log.error("%s failed after its response began", where, exc_info=exc)
                return
            if isinstance(exc, CustodyError):
                response = custody_problem(request, exc)
            elif database_full(exc):
                log.warning("%s: the database's disk is full", where)
                response = custody_problem(
                    request,
                    StorageFull(
                        "the disk holding the database is full; nothing was changed. Free "
                        f"space and try again (request id {request_id})"
                    ),
                )
            elif database_unreachable(exc):
                log.warning("%s: database unreachable: %s", where, type(exc).__name__)
                response = custody_problem(
                    request,
                    DatabaseUnavailable(
                        "the database is not reachable; nothing was changed. Try again "
                        f"shortly, or ask the operator (request id {request_id})"
                    ),
                )
            else:
                log.error("%s failed: internal error", where, exc_info=exc)
                response = problem(
                    500,
                    InternalError.code,
                    InternalError.title,
                    "an unexpected error occurred; give the operator the request id "
                    f"{request_id}: the log explains it",
                    request.url.path,
                    request_id=request_id,
                )
            await response(scope, receive, send_with_id)
