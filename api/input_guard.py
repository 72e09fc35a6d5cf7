"""Refuse bad characters and malformed JSON before any route, and so before anything is stored.

Paths and query strings arrive percent-decoded, so ``/evidence/abc%00def`` reaches the
router with a NUL in it, which PostgreSQL cannot even compare. JSON bodies are parsed by
FastAPI with Python's lenient json module (NaN, Infinity, 1e400 as infinity, unbounded
nesting). This middleware refuses both kinds up front, with one clear problem each:

- a control character in the path, or in a query parameter's name (C0, DEL, C1), or in a
  query value (TAB, LF and CR excepted: a purpose may span lines) -> 400 invalid-characters;
- a JSON body (``application/json`` or ``+json``) over 1 MiB -> 413; one that is not strict
  JSON (see custody.canonical.parse_json) or holds NUL in any key or string -> 400
  malformed-json. The body is then handed on unchanged.

Field-specific rules (which text may span lines, which is kept verbatim) are the models'
(api.fields).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custody.canonical import parse_json
from custody.errors import InvalidCharacters, MalformedJSON, UploadTooLarge
from custody.text import json_strings, line_problem, text_problem, verbatim_problem

MAX_JSON_BODY = 1024 * 1024


def check_target(path: str, query_string: bytes) -> None:
    """Raise InvalidCharacters for a control character in the path or the query."""
    problem = line_problem(path)
    if problem:
        raise InvalidCharacters(
            f"the request path holds {problem}; identifiers never contain control characters"
        )
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        problem = line_problem(name)
        if problem:
            raise InvalidCharacters(f"a query parameter name holds {problem}")
        problem = text_problem(value)
        if problem:
            raise InvalidCharacters(
                f"query parameter {name!r} holds {problem}; only TAB, LF and CR are allowed"
            )


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_json_body(body: bytes) -> None:
    """Raise MalformedJSON unless the body is strict JSON without NUL anywhere."""
    value = parse_json(body, what="the JSON body", error=MalformedJSON)
    for where, text in json_strings(value):
        problem = verbatim_problem(text)
        if problem:
            raise MalformedJSON(f"the JSON body holds {problem} in {where or 'a string'}")


async def read_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(f"a JSON body may be at most {limit} bytes; send less")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the already-read body once, then defers to the client."""
    done = False

    async def again() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class InputGuard:
    """ASGI middleware: the checks above, for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            check_target(scope["path"], scope.get("query_string", b""))
            if is_json(Headers(scope=scope).get("content-type")):
                body = await read_body(receive, MAX_JSON_BODY)
                if body:
                    check_json_body(body)
                receive = replay(body, receive)
        await self.app(scope, receive, send)
