"""A real server for CLI tests: the real app under uvicorn on a free loopback port.

The app can be wrapped by a :class:`Recorder`, a pass-through ASGI layer that notes every
request and counts the body bytes the server received, so a test can assert that a
command sent nothing. The CLI runs through Typer's CliRunner with CUSTODY_URL/CUSTODY_TOKEN,
so every answer it judges came over HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from typer.testing import CliRunner, Result

from api.context import AppContext
from cli.main import app as cli_app
from tests.conftest import Actor

ASGIApp = Any


@dataclass
class Recorder:
    """Pass-through ASGI app: ``requests`` seen and request ``body_bytes`` per (method, path)."""

    app: ASGIApp
    requests: list[tuple[str, str]] = field(default_factory=list)
    body_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = (scope["method"], scope["path"])
        self.requests.append(key)

        async def counting() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.body_bytes[key] += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yield its URL; stop it afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app=app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not answer /healthz in 30s"
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the server thread did not stop"


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@dataclass
class Served:
    url: str
    ctx: AppContext
    recorder: Recorder
    admin: Actor
    technician: Actor

    def cli(self, *args: str, actor: Actor | None = None, url: str | None = None) -> Result:
        """Run ``custody ARGS`` as ``actor`` (default the technician) against the server."""
        who = actor or self.technician
        env = {"CUSTODY_URL": url or self.url, "CUSTODY_TOKEN": who.token}
        return CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)

    def http(self, actor: Actor | None = None) -> httpx.Client:
        who = actor or self.technician
        return httpx.Client(base_url=self.url, headers=who.headers, timeout=30)

    def create_case(self, number: str, actor: Actor | None = None) -> None:
        with self.http(actor) as h:
            r = h.post("/api/v1/cases", json={"number": number, "title": f"case {number}"})
        assert r.status_code == 201, r.text

    def uploads(self) -> int:
        """Requests that reached the intake endpoint."""
        return sum(1 for key in self.recorder.requests if key == ("POST", "/api/v1/evidence"))

    def upload_bytes(self) -> int:
        return self.recorder.body_bytes[("POST", "/api/v1/evidence")]
