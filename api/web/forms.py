"""Form bodies with a size limit and CSRF protection, read before anything is decided.

Every state-changing form carries the session's CSRF token (a hidden field); the sign-in
form, which has no session yet, carries a double-submit token from its own cookie. A
cross-site ``Origin`` or ``Sec-Fetch-Site`` is refused as well.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import Message

from api.web import sessions
from custody.errors import PermissionDenied, UploadTooLarge

SIGNIN_COOKIE = "custody_signin_csrf"
FIELD = "csrf"
SMALL_FORM = 256 * 1024
CSRF_REFUSED = (
    "the form's security token is missing or wrong (CSRF); reload the page and submit it again"
)


def new_signin_token() -> str:
    return secrets.token_urlsafe(24)


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def limited_form(request: Request, max_bytes: int, *, max_files: int = 0) -> FormData:
    """Parse the form, refusing more than ``max_bytes`` whatever Content-Length claims."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise UploadTooLarge(f"the form is {length} bytes; at most {max_bytes} are accepted")
    received = 0
    receive: Callable[[], Awaitable[Message]] = request.receive

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise UploadTooLarge(f"the form exceeds {max_bytes} bytes; nothing was done")
        return message

    limited = Request(request.scope, counted)
    return await limited.form(max_files=max_files, max_fields=64)


class CsrfForm:
    """Dependency: the request's form, once its size, origin and CSRF token are checked."""

    def __init__(
        self, max_bytes: int = SMALL_FORM, *, max_files: int = 0, signin: bool = False
    ) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.signin = signin

    async def __call__(self, request: Request) -> FormData:
        if not _same_origin(request):
            raise PermissionDenied("a form from another site was refused (cross-origin request)")
        form = await limited_form(request, self.max_bytes, max_files=self.max_files)
        presented = form.get(FIELD)
        token = presented if isinstance(presented, str) else None
        if self.signin:
            expected = request.cookies.get(SIGNIN_COOKIE)
            ok = bool(expected and token) and hmac.compare_digest(str(expected), str(token))
        else:
            session_id = request.cookies.get(sessions.COOKIE)
            ok = bool(session_id) and sessions.csrf_matches(str(session_id), token)
        if not ok:
            raise PermissionDenied(CSRF_REFUSED)
        return form


def text(form: FormData, name: str, *, limit: int = 10_000) -> str:
    """A text field, stripped; a file or an over-long value is an input error."""
    value = form.get(name, "")
    if not isinstance(value, str):
        from custody.errors import InputError

        raise InputError(f"the field {name!r} must be text")
    if len(value) > limit:
        from custody.errors import InputError

        raise InputError(f"the field {name!r} is longer than {limit} characters")
    return value.strip()
