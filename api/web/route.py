"""The pages' route class: errors become HTML pages (or a sign-in redirect), never JSON.

The API answers a custody error with problem JSON; a person in a browser gets the same
status and message on a page, in their language, with the security headers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.problems import status_for
from api.web.headers import secure
from api.web.templating import page
from custody.errors import AuthenticationRequired, CustodyError


def sign_in_redirect(request: Request) -> Response:
    target = "/signin"
    if request.method == "GET":
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(path, safe="")
    return secure(RedirectResponse(target, status_code=303))


def error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status_code=status, status=status, message=message)


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except AuthenticationRequired:
                return sign_in_redirect(request)
            except CustodyError as e:
                return error_page(request, status_for(e), e.message)
            except (RequestValidationError, ValidationError) as e:
                details = "; ".join(
                    f"{'.'.join(map(str, err.get('loc', ())))}: {err.get('msg', '')}"
                    for err in e.errors()
                )
                return error_page(request, 422, details)
            return secure(response)

        return route
