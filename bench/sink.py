"""An ASGI app that reads a request body and throws it away: HTTP receive alone.

Run under the same uvicorn as ``custody serve`` (``python -m uvicorn bench.sink:app``), it
is the HTTP stage of an intake without hashing, storing or recording.
"""

from __future__ import annotations

from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})
