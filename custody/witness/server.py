"""The witness over HTTP with the standard library: ``POST /add-checkpoint``, nothing else.

A threading server (one thread per connection, HTTP/1.1 keep-alive as the spec asks); the
decision and its lock live in :class:`custody.witness.protocol.Witness`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from custody.checkpoint import VerifierKey
from custody.witness.protocol import MAX_BODY, Answer, Witness
from custody.witness.state import WitnessState, load_key

log = logging.getLogger("custody.witness")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WitnessServer

    def _send(self, answer: Answer) -> None:
        data = answer.body.encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/add-checkpoint":
            self._send(Answer(status=404, body="not found\n"))
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(Answer(status=411, body="Content-Length required\n"))
            return
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(Answer(status=413, body=f"body larger than {MAX_BODY} bytes\n"))
            return
        answer = self.server.witness.add_checkpoint(self.rfile.read(length))
        log.info("add-checkpoint from %s: %d", self.client_address[0], answer.status)
        self._send(answer)

    def do_GET(self) -> None:
        key = self.server.witness.key.verifier().to_text()
        self._send(Answer(status=200, body=f"C2SP tlog-witness {key}\n"))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class WitnessServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], witness: Witness) -> None:
        self.witness = witness
        super().__init__(address, _Handler)


def serve(
    directory: Path,
    log_keys: Sequence[VerifierKey],
    host: str,
    port: int,
    announce: Callable[[str, str], None],
) -> None:
    """Hold the witness folder, serve until interrupted; ``announce(url, key)`` once bound."""
    state = WitnessState(directory)
    key = load_key(directory)
    state.lock()
    try:
        server = WitnessServer((host, port), Witness(key, state, log_keys))
        announce(f"http://{host}:{server.server_address[1]}", key.verifier().to_text())
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        state.unlock()
