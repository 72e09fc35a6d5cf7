"""A thin HTTP client for the custody API; problem JSON becomes CLI errors."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from cli.errors import CliError, ExitCode

DEFAULT_URL = "http://127.0.0.1:8000"


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

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise CliError(
                f"cannot reach the custody server at {self.url}: {e}. "
                "Start it with 'make run' or set CUSTODY_URL",
                ExitCode.UNAVAILABLE,
            ) from e
        raise_for_problem(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("DELETE", path, **kwargs)

    def upload(
        self, path: str, body: Iterable[bytes], *, params: dict[str, str], size: int
    ) -> httpx.Response:
        return self._send(
            "POST",
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
            raise CliError(
                f"cannot reach the custody server at {self.url}: {e}", ExitCode.UNAVAILABLE
            ) from e


def raise_for_problem(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        problem = response.json()
        detail = problem.get("detail") or problem.get("title") or response.text
        kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
    except ValueError:
        problem, detail, kind = {}, response.text, ""
    status = response.status_code
    if status >= 500:
        code = ExitCode.UNAVAILABLE
    elif (
        kind in {"digest-mismatch"}
        or kind.startswith("verification")
        or kind.startswith("ledger-integrity")
    ):
        code = ExitCode.INTEGRITY
    else:
        code = ExitCode.USAGE
    raise CliError(f"{detail} [{status} {kind}]".strip(), code, problem=problem)
