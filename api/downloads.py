"""Content downloads that record what was actually delivered.

A download makes two ledger entries. ``evidence.download`` is committed before the first
byte leaves: who, why, which object and how large it is, so that no read goes unrecorded
even if the server dies mid-stream. ``evidence.download_ended`` is appended when the stream
ends, however it ends (finished, client gone, storage failed), with ``bytes_sent`` and
``complete``. ``bytes_sent`` counts every byte handed to the connection, counted before it
is sent, so it is an upper bound on what reached the client (bytes still in flight when a
connection breaks are counted); ``complete`` is true only when every byte of the object was
handed over and the last send returned.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass

import anyio
import anyio.to_thread
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger("custody.api")


@dataclass
class Delivery:
    """What one download stream handed over (mutable: the stream updates it)."""

    download_id: str
    size: int
    bytes_sent: int = 0
    exhausted: bool = False
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.exhausted and self.error is None and self.bytes_sent == self.size

    def details(self) -> dict[str, object]:
        return {
            "download_id": self.download_id,
            "bytes_sent": self.bytes_sent,
            "size": self.size,
            "complete": self.complete,
            **({"error": self.error} if self.error else {}),
        }


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def metered(chunks: Iterator[bytes], delivery: Delivery) -> AsyncGenerator[bytes, None]:
    """Pull chunks from the store in a worker thread, counting each before it is sent."""
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(_next_chunk, chunks)
            if chunk is None:
                break
            delivery.bytes_sent += len(chunk)
            yield chunk
        delivery.exhausted = True  # the consumer came back after the last send
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


class RecordedDownload(StreamingResponse):
    """A streaming response that reports its :class:`Delivery` once the stream is over."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        delivery: Delivery,
        on_end: Callable[[Delivery], None],
        media_type: str,
        headers: dict[str, str],
    ) -> None:
        self._stream = metered(chunks, delivery)
        super().__init__(self._stream, media_type=media_type, headers=headers)
        self.delivery = delivery
        self._on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except BaseException as e:
            self.delivery.error = type(e).__name__
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()  # runs the stream's finally: the store is closed
                try:
                    await anyio.to_thread.run_sync(self._on_end, self.delivery)
                except Exception:
                    log.exception(
                        "download %s ended after %d bytes but could not be recorded",
                        self.delivery.download_id,
                        self.delivery.bytes_sent,
                    )
