"""Bridges from the async request body to the blocking readers the store consumes.

Neither intake path spools the body: chunks are pulled from the event loop one at a time
by the worker thread that hashes and stores them, so memory stays at a few chunks whatever
the image size.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import anyio.from_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from custody.errors import MalformedMetadata, MalformedMultipart, MissingFile, UploadAborted

MAX_METADATA_BYTES = 1024 * 1024
PULL_BYTES = 1024 * 1024


class _BodyPuller:
    """Pull the next body chunk from the event loop, from a worker thread."""

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self._body = body
        self.done = False

    async def _next(self) -> bytes:
        """Gather about PULL_BYTES per hop: one thread hand-off per 64 KiB chunk is slow."""
        parts: list[bytes] = []
        size = 0
        try:
            while size < PULL_BYTES:
                chunk = await self._body.__anext__()
                parts.append(chunk)
                size += len(chunk)
        except StopAsyncIteration:
            pass
        except ClientDisconnect as e:
            raise UploadAborted(
                "the client disconnected before the upload finished; nothing was recorded, "
                "start the intake again"
            ) from e
        return b"".join(parts)

    def pull(self) -> bytes:
        if self.done:
            return b""
        while True:
            chunk = anyio.from_thread.run(self._next)
            if chunk == b"":
                self.done = True
                return b""
            if chunk:
                return chunk


class RawBodyReader(io.RawIOBase):
    """The request body itself is the evidence (``application/octet-stream``)."""

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self._puller = _BodyPuller(body)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            self._pending = self._puller.pull()
        if size < 0 or size >= len(self._pending):
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return out


class MultipartIntakeReader(io.RawIOBase):
    """Streams the ``file`` part of a multipart body and collects the ``metadata`` part.

    Call ``prepare()`` first: it reads up to the start of the file part, so metadata sent
    before the file (as our CLI does) can be validated before a byte is stored. After the
    file has been consumed, ``finish()`` reads the rest (metadata sent after the file).
    """

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._puller = _BodyPuller(body)
        self._file_chunks: deque[bytes] = deque()
        self._part_name: str | None = None
        self._part_filename: str | None = None
        self._part_content_type: str | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[str, bytes] = {}
        self._metadata = bytearray()
        self.metadata_seen = False
        self.metadata_before_file = False
        self.file_seen = False
        self.file_done = False
        self.filename: str | None = None
        self.content_type: str | None = None
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    # -- parser callbacks ----------------------------------------------------------------
    def _on_part_begin(self) -> None:
        self._headers = {}
        self._part_name = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part_name = name
        if name == "file":
            if self.file_seen:
                raise MalformedMetadata("the request has more than one 'file' part; send one")
            self.file_seen = True
            self.metadata_before_file = self.metadata_seen
            raw_name = options.get(b"filename")
            self.filename = raw_name.decode("utf-8", "replace") if raw_name is not None else None
            ctype = self._headers.get("content-type")
            self.content_type = ctype.decode("latin-1") if ctype else None
        elif name == "metadata":
            self.metadata_seen = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_name == "file":
            self._file_chunks.append(bytes(data[start:end]))
        elif self._part_name == "metadata":
            self._metadata += data[start:end]
            if len(self._metadata) > MAX_METADATA_BYTES:
                raise MalformedMetadata(
                    f"the metadata part exceeds {MAX_METADATA_BYTES} bytes; send it as a "
                    "small JSON object"
                )

    def _on_part_end(self) -> None:
        if self._part_name == "file":
            self.file_done = True
        self._part_name = None

    # -- reading -------------------------------------------------------------------------
    def _feed(self) -> bool:
        chunk = self._puller.pull()
        if not chunk:
            return False
        try:
            self._parser.write(chunk)
        except FormParserError as e:
            raise _malformed(e) from e
        return True

    def prepare(self) -> None:
        """Read until the file part starts (or the body ends)."""
        while not self.file_seen:
            if not self._feed():
                break
        if not self.file_seen:
            raise MissingFile(
                "the request has no 'file' part; send the evidence as a multipart field "
                "named 'file' (a zero-byte file is accepted)"
            )

    @property
    def metadata_bytes(self) -> bytes | None:
        return bytes(self._metadata) if self.metadata_seen else None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._file_chunks and not self.file_done:
            if not self._feed():
                raise UploadAborted(
                    "the multipart body ended inside the file part; nothing was recorded, "
                    "send the request again"
                )
        if not self._file_chunks:
            return b""
        chunk = self._file_chunks.popleft()
        if 0 <= size < len(chunk):
            self._file_chunks.appendleft(chunk[size:])
            chunk = chunk[:size]
        return chunk

    def finish(self) -> None:
        """Consume the rest of the body (metadata may follow the file)."""
        while self._feed():
            pass
        try:
            self._parser.finalize()
        except FormParserError as e:
            raise _malformed(e) from e


def _malformed(e: FormParserError) -> MalformedMultipart:
    return MalformedMultipart(
        f"the multipart body is malformed ({e}); nothing was recorded. Send "
        "multipart/form-data with a 'metadata' part and then a 'file' part"
    )


def boundary_of(content_type: str) -> bytes:
    ctype, options = parse_options_header(content_type)
    boundary: Any = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise MalformedMetadata(
            "expected multipart/form-data with a boundary, or application/octet-stream"
        )
    return bytes(boundary)
