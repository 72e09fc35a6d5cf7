"""``custody intake`` over tus (``/api/v1/uploads``): an upload that survives a dropped
connection or a server restart.

The file is sent in PATCH requests of ``PATCH_BYTES``. On a connection error or a 5xx the
client waits (bounded exponential backoff), asks the server for its durable offset (HEAD)
and continues from there, saying so. The local digests are computed while sending; after a
resume the hash state is rebuilt by re-reading the file's prefix (a hash state cannot be
saved), so they always describe the bytes the server holds.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli.client import ApiClient
from custody.digests import CHUNK_SIZE, MultiHasher
from custody.errors import CustodyError, ServerUnavailable, UploadBusy, UploadOffsetMismatch

TUS = {"Tus-Resumable": "1.0.0"}
PATCH_BYTES = 32 * 1024 * 1024
DEFAULT_THRESHOLD = 64 * 1024 * 1024
UPLOADS = "/api/v1/uploads"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded: at most ``retries`` consecutive failures, waiting ``first_delay`` doubled
    each time up to ``max_delay`` (defaults: 5 retries over 1+2+4+8+15 = 30 s)."""

    retries: int = 5
    first_delay: float = 1.0
    max_delay: float = 15.0

    def delay(self, failure: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2 ** (failure - 1)))


def retryable(error: CustodyError) -> bool:
    """A dropped connection, the server's own failure, or another request of ours still
    holding the upload; never a refusal of the input."""
    return isinstance(error, ServerUnavailable | UploadBusy) or (error.status or 0) >= 500


@dataclass
class Transfer:
    """What the client sent and what it had to do again."""

    bytes_sent: int = 0
    resumed: list[dict[str, int]] = field(default_factory=list)


class Hashing:
    """The local digests of the file's prefix up to ``position``."""

    def __init__(self, path: Path, algorithms: tuple[str, ...]) -> None:
        self.path, self.algorithms = path, algorithms
        self.hasher = MultiHasher(algorithms)
        self.position = 0

    def rebuild(self, offset: int) -> None:
        """Hash state for ``offset`` bytes: re-read the prefix at disk speed."""
        if offset == self.position:
            return
        self.hasher.close()
        self.hasher = MultiHasher(self.algorithms)
        self.position = 0
        with self.path.open("rb") as f:
            while self.position < offset:
                chunk = f.read(min(CHUNK_SIZE, offset - self.position))
                if not chunk:
                    break
                self.hasher.update(chunk)
                self.position += len(chunk)

    def update(self, chunk: bytes) -> None:
        self.hasher.update(chunk)
        self.position += len(chunk)

    def close(self) -> None:
        self.hasher.close()


def upload_metadata(metadata: dict[str, Any]) -> str:
    """The whole intake metadata as one tus ``Upload-Metadata`` pair."""
    raw = json.dumps(metadata, ensure_ascii=False).encode("utf-8")
    return "metadata " + base64.b64encode(raw).decode("ascii")


def intake_resumable(
    api: ApiClient,
    path: Path,
    metadata: dict[str, Any],
    algorithms: tuple[str, ...],
    *,
    policy: RetryPolicy,
    at: Callable[[int], None] = lambda n: None,
    say: Callable[[str], None] = lambda s: None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Create the upload, send it, resume as often as the policy allows; the evidence JSON
    (with ``local_digests``, ``bytes_sent`` and ``resumed``); ``at`` hears the position."""
    size = path.stat().st_size
    transfer = Transfer()
    hashing = Hashing(path, algorithms)
    failures = 0

    def failed(error: CustodyError) -> None:
        nonlocal failures
        if not retryable(error):
            raise error
        failures += 1
        if failures > policy.retries:
            raise error
        sleep(policy.delay(failures))

    try:
        while True:  # create (a lost answer only leaves an unused upload, swept later)
            try:
                created = api.request(
                    "POST",
                    UPLOADS,
                    headers={
                        **TUS,
                        "Upload-Length": str(size),
                        "Upload-Metadata": upload_metadata(metadata),
                    },
                )
                break
            except CustodyError as e:
                failed(e)
        url = created.headers["location"]
        offset = 0
        evidence: dict[str, Any] | None = None
        while evidence is None:
            try:
                hashing.rebuild(offset)
                answer = _patch(api, url, path, offset, size, hashing, transfer, at)
                failures = 0
                if answer.status_code == 200:
                    evidence = answer.json()
                else:
                    offset = int(answer.headers["upload-offset"])
                continue
            except UploadOffsetMismatch as e:
                offset = int(e.extra.get("offset", offset))
                continue
            except CustodyError as e:
                failed(e)
            # resume: ask the server what it holds
            while True:
                try:
                    state = api.request("HEAD", url, headers=TUS)
                    break
                except CustodyError as e:
                    failed(e)
            offset = int(state.headers["upload-offset"])
            attempt = len(transfer.resumed) + 2
            transfer.resumed.append({"offset": offset, "attempt": attempt})
            say(f"resumed at {offset} of {size} bytes (attempt {attempt})")
            if "custody-evidence" in state.headers:  # completed; its answer was lost
                evidence = api.get(f"/api/v1/evidence/{state.headers['custody-evidence']}").json()
        hashing.rebuild(size)
        evidence["local_digests"] = hashing.hasher.hexdigests()
        evidence["local_size"] = hashing.position
    finally:
        hashing.close()
    evidence["bytes_sent"] = transfer.bytes_sent
    evidence["resumed"] = transfer.resumed
    return evidence


def _patch(
    api: ApiClient,
    url: str,
    path: Path,
    offset: int,
    size: int,
    hashing: Hashing,
    transfer: Transfer,
    at: Callable[[int], None],
) -> httpx.Response:
    length = min(PATCH_BYTES, size - offset)

    def body() -> Iterator[bytes]:
        with path.open("rb") as f:
            f.seek(offset)
            left = length
            while left > 0:
                chunk = f.read(min(CHUNK_SIZE, left))
                if not chunk:
                    raise CustodyError(f"{path} shrank while it was being uploaded")
                left -= len(chunk)
                hashing.update(chunk)
                transfer.bytes_sent += len(chunk)
                at(offset + length - left)
                yield chunk

    return api.request(
        "PATCH",
        url,
        content=body(),
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(length),
        },
        timeout=httpx.Timeout(connect=5.0, read=None, write=60.0, pool=5.0),
    )
