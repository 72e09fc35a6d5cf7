"""A thin HTTP client for the custody API; problem JSON becomes the custody error it names.

The server answers an error with RFC 9457 problem JSON whose ``type`` ends in the error's
stable code. The client raises that code's class (:func:`custody.errors.error_class_for`),
so a remote ``invalid-proof`` exits exactly as a local one; a code this client does not
know becomes the class its HTTP status implies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from custody.errors import (
    AuthenticationRequired,
    Conflict,
    CustodyError,
    InputError,
    NotFound,
    PermissionDenied,
    ServerError,
    ServerUnavailable,
    error_class_for,
)

DEFAULT_URL = "http://127.0.0.1:8000"
PROBLEM_BASE = "urn:evidence-custody:problem:"
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class ApiClient:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = (url or os.environ.get("CUSTODY_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("CUSTODY_TOKEN")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=httpx.Timeout(60.0, connect=5.0)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unreachable(self, error: httpx.TransportError) -> ServerUnavailable:
        return ServerUnavailable(
            f"cannot reach the custody server at {self.url}: {error}. "
            "Start it with 'make run' or set CUSTODY_URL"
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise self._unreachable(e) from e
        raise_for_problem(response)
        return response

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any method; a problem answer raises its error, a dropped connection
        ServerUnavailable."""
        return self._send(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("DELETE", path, **kwargs)

    def upload(
        self,
        path: str,
        body: Iterable[bytes],
        *,
        params: dict[str, str],
        size: int,
        method: str = "POST",
    ) -> httpx.Response:
        return self._send(
            method,
            path,
            params=params,
            content=body,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            timeout=httpx.Timeout(None, connect=5.0),
        )

    @contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self._http.stream("GET", path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_problem(response)
                yield response
        except httpx.TransportError as e:
            raise self._unreachable(e) from e


def class_for_status(status: int) -> type[CustodyError]:
    """The class of an error whose code is unknown here: 5xx is the server's, 401/403 deny."""
    if status >= 500:
        return ServerError
    if status == 401:
        return AuthenticationRequired
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    return InputError


def problem_error(status: int, problem: Mapping[str, Any], text: str = "") -> CustodyError:
    """The error a problem JSON answer reports, as the class its code names."""
    kind = str(problem.get("type") or "")
    code = kind.removeprefix(PROBLEM_BASE) if kind.startswith(PROBLEM_BASE) else ""
    detail = problem.get("detail") or problem.get("title") or text.strip() or f"HTTP {status}"
    cls = error_class_for(code) or class_for_status(status)
    error = cls(str(detail))
    error.extra.update((k, v) for k, v in problem.items() if k not in _PROBLEM_MEMBERS)
    error.status = status
    if code != cls.code:
        error.reported_code = code or f"http-{status}"
    return error


def raise_for_problem(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {}
    raise problem_error(response.status_code, problem, response.text)
