"""The concurrent, bounded-memory multipart upload of a stream.

A stream of unknown length is read part by part, every piece hashed once as it is read,
with ``threads`` parts in flight while the next is read: at most ``threads + 1`` parts are
in memory. Part sizes double every 1000 parts (S3 allows 10 000 parts per object), so
memory grows only for uploads past ~16 GiB (with 16 MiB parts):
``(threads + 1) * part_size * 2`` up to ~47 GiB, and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import BinaryIO

from custody.digests import MultiHasher
from custody.errors import UploadTooLarge
from storage.s3.errors import Translator

MiB = 1024 * 1024
GiB = 1024 * MiB
MIN_PART_SIZE = 5 * MiB  # S3: every part but the last
MAX_PART_SIZE = 5 * GiB  # S3: one part, and one CopyObject
MAX_PARTS = 10_000
PARTS_PER_SIZE_STEP = 1000  # part size doubles after this many parts

# uploads one part: (key, upload id, part number, a one-item list holding the bytes, which
# the sender pops) -> (part number, ETag)
PartSender = Callable[[str, str, int, list[bytes]], tuple[int, str]]


def part_size(base: int, number: int) -> int:
    """Size of part ``number`` (1-based): doubling every 1000 parts, at most 5 GiB."""
    return min(base << ((number - 1) // PARTS_PER_SIZE_STEP), MAX_PART_SIZE)


def read_part(
    stream: BinaryIO, hasher: MultiHasher, size: int, max_bytes: int | None, done: int
) -> bytes:
    """Read up to ``size`` bytes (less only at the end), hashing each piece once.

    One ``read(size)`` normally returns the whole part into a single new buffer, which
    is hashed and uploaded as it is: no copies (a join costs as much as the hashing).
    """
    pieces: list[bytes] = []
    got = 0
    while got < size:
        piece = stream.read(size - got)
        if not piece:
            break
        if max_bytes is not None and done + got + len(piece) > max_bytes:
            raise UploadTooLarge(
                f"upload exceeds the limit of {max_bytes} bytes "
                "(CUSTODY_MAX_UPLOAD_BYTES); split the image or ask the "
                "administrator to raise the limit"
            )
        hasher.update(piece)
        pieces.append(bytes(piece) if not isinstance(piece, bytes) else piece)
        got += len(piece)
    if len(pieces) == 1:
        return pieces[0]
    return b"".join(pieces)


def upload_parts(
    key: str,
    upload_id: str,
    stream: BinaryIO,
    first: bytes,
    *,
    hasher: MultiHasher,
    max_bytes: int | None,
    base_part_size: int,
    threads: int,
    send: PartSender,
    errors: Translator,
) -> tuple[list[tuple[int, str]], int]:
    """Upload ``first`` and the rest of ``stream`` as parts of the open upload ``upload_id``.

    Returns (parts as (number, ETag) in order, total size). On any failure no part is left
    in flight when this returns; aborting the upload is the caller's job (it opened it).
    """
    total = 0
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="s3-part")
    pending: set[Future[tuple[int, str]]] = set()
    etags: dict[int, str] = {}

    def collect(futures: set[Future[tuple[int, str]]]) -> None:
        with errors("upload", key):
            for future in futures:
                number, etag = future.result()
                etags[number] = etag

    try:
        number, data = 1, first
        while True:
            # the part travels in a box the sender empties, so that its memory is freed
            # when its upload finishes, not when the executor drops its work item
            size = len(data)
            box = [data]
            del data
            pending.add(pool.submit(send, key, upload_id, number, box))
            del box
            total += size
            if size < part_size(base_part_size, number):
                break  # the stream has ended
            number += 1
            if number > MAX_PARTS:
                raise UploadTooLarge(
                    f"upload exceeds the {MAX_PARTS} parts an S3 object may have; "
                    "raise CUSTODY_S3_PART_SIZE"
                )
            # make room before reading: at most threads + 1 parts in memory
            while len(pending) >= threads:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
            data = read_part(stream, hasher, part_size(base_part_size, number), max_bytes, total)
            if not data:
                break
        finished, pending = wait(pending).done, set()
        collect(finished)
    except BaseException:
        for future in pending:
            future.cancel()
        wait(pending)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [(n, etags[n]) for n in sorted(etags)], total
