"""Reading EWF media through libewf (``pyewf`` from the ``libewf-python`` wheel).

The only module of custody/ that touches a native binding, behind a lazy import: the base
install (the court's offline verifier) works without it and reports that it could not
re-read the media (:func:`available`). libewf holds the GIL while it inflates, so segment
files on disk are inflated by child processes (:mod:`custody.images.ewf_pipe`) while this
process hashes; stored objects without a local path (S3) are read through file objects by
a handle in a thread. Either way one MultiHasher hashes the media in order.
"""

from __future__ import annotations

import importlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, BinaryIO

from custody.digests import MultiHasher
from custody.errors import ImageError, ImageSupportMissing
from custody.images import ewf_pipe
from custody.images.ewf_metadata import stored_digests

Source = str | BinaryIO
Opener = Callable[[], Sequence[Source]]
BLOCK_SIZE = 4 * 1024 * 1024
WORKERS = 1  # more handles do not inflate faster here: libewf holds the GIL
# the wheel's libewf inflates at about half ewfverify's speed, so two children share it
PIPE_WORKERS = max(1, min(2, os.cpu_count() or 1))
PIPE_FROM = 16 * 1024 * 1024  # smaller media are not worth a process start (about 0.1 s)
INSTALL_HINT = (
    "install libewf's Python bindings: pip install 'evidence-custody[ewf]' (the libewf-python "
    "wheel)"
)
MEDIA_TYPES = {0: "removable", 1: "fixed", 3: "optical", 14: "single-files", 16: "memory"}
COMPRESSION = {0: "deflate", 1: "bzip2"}


def _module() -> ModuleType | None:
    try:
        return importlib.import_module("pyewf")
    except ImportError:
        return None


def available() -> bool:
    """Whether this install can read EWF media (libewf-python is importable)."""
    return _module() is not None


def _pyewf() -> ModuleType:
    module = _module()
    if module is None:
        raise ImageSupportMissing(f"reading EWF media needs libewf: {INSTALL_HINT}")
    return module


def libewf_version() -> str | None:
    module = _module()
    return str(module.get_version()) if module is not None else None


def _media_error(what: str, e: Exception) -> ImageError:
    detail = str(e).split(". ")[0][:300]
    return ImageError(f"media: libewf could not {what} ({detail})")


def _open(sources: Sequence[Source]) -> Any:
    pyewf = _pyewf()
    handle = pyewf.handle()
    try:
        if all(isinstance(s, str) for s in sources):
            handle.open(list(sources))
        else:
            handle.open_file_objects(list(sources))
    except (OSError, ValueError, TypeError) as e:
        raise _media_error("open the segment files as one image", e) from e
    return handle


@dataclass(frozen=True, kw_only=True)
class EwfMedia:
    """The media of an EWF image as libewf reads it, with what the imager stored."""

    size: int
    digests: dict[str, str]
    stored_digests: dict[str, str]
    header: dict[str, str] = field(default_factory=dict)
    media: dict[str, Any] = field(default_factory=dict)


def _call(handle: Any, name: str) -> Any:
    try:
        return getattr(handle, name)()
    except (OSError, AttributeError, ValueError):
        return None


def _facts(handle: Any) -> dict[str, Any]:
    media_type = _call(handle, "get_media_type")
    flags = _call(handle, "get_media_flags")
    compression = _call(handle, "get_compression_method")
    facts = {
        "size": _call(handle, "get_media_size"),
        "bytes_per_sector": _call(handle, "get_bytes_per_sector"),
        "sectors": _call(handle, "get_number_of_sectors"),
        "chunk_size": _call(handle, "get_chunk_size"),
        "media_type": MEDIA_TYPES.get(media_type, media_type),
        "physical": bool(flags & 0x02) if isinstance(flags, int) else None,
        "compression": COMPRESSION.get(compression, compression),
    }
    return {k: v for k, v in facts.items() if v is not None}


def read_stored(sources: Sequence[Source]) -> tuple[dict[str, str], dict[str, Any], int]:
    """Header values, media facts and media size, without reading the media."""
    handle = _open(sources)
    try:
        header = {str(k): str(v) for k, v in (_call(handle, "get_header_values") or {}).items()}
        hashes = {str(k): str(v) for k, v in (_call(handle, "get_hash_values") or {}).items()}
        size = int(handle.get_media_size())
        return {**header, **{f"hash:{k}": v for k, v in hashes.items()}}, _facts(handle), size
    finally:
        handle.close()


def _blocks(open_sources: Opener, size: int, workers: int, block_size: int) -> Iterator[bytes]:
    """The media in order, decompressed by ``workers`` handles reading every n-th block."""
    count = (size + block_size - 1) // block_size
    queues: list[queue.Queue[bytes | BaseException]] = [
        queue.Queue(maxsize=2) for _ in range(workers)
    ]
    stop = threading.Event()

    def put(q: queue.Queue[bytes | BaseException], item: bytes | BaseException) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work(w: int) -> None:
        try:
            handle = _open(open_sources())
        except BaseException as e:
            put(queues[w], e)
            return
        try:
            for index in range(w, count, workers):
                offset = index * block_size
                length = min(block_size, size - offset)
                try:
                    data = handle.read_buffer_at_offset(length, offset)
                except (OSError, ValueError) as e:
                    put(queues[w], _media_error(f"read media at offset {offset}", e))
                    return
                if len(data) != length:
                    put(
                        queues[w],
                        ImageError(
                            f"media: libewf read only {len(data)} bytes at "
                            f"offset {offset} of {size}: the image is short"
                        ),
                    )
                    return
                if not put(queues[w], data):
                    return
        finally:
            handle.close()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    try:
        for index in range(count):
            item = queues[index % workers].get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        for t in threads:
            t.join()


def read_ewf(
    open_sources: Opener,
    algorithms: Sequence[str],
    *,
    workers: int = WORKERS,
    block_size: int = BLOCK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> EwfMedia:
    """Hash the whole media; ``open_sources`` gives fresh parts, in order, for each handle.

    Raises ImageError (naming the media level) when libewf cannot open or read the set, and
    ImageSupportMissing when libewf is not installed.
    """
    values, facts, size = read_stored(open_sources())
    header = {k: v for k, v in values.items() if not k.startswith("hash:")}
    stored = {k.removeprefix("hash:"): v for k, v in values.items() if k.startswith("hash:")}
    imager = stored_digests(stored)
    # whatever the imager stored is recomputed too, or it could not be compared
    sources = open_sources()
    if all(isinstance(s, str) for s in sources) and size >= PIPE_FROM:
        # files on disk: libewf inflates in a child process while this one hashes
        blocks: Iterator[bytes | bytearray] = ewf_pipe.media_blocks(
            [str(s) for s in sources], size, block_size, PIPE_WORKERS
        )
    else:
        blocks = _blocks(open_sources, size, max(1, workers), block_size)
    with MultiHasher([*algorithms, *imager]) as hasher:
        for block in blocks:
            hasher.update(block)
            if progress is not None:
                progress(len(block))
        digests = hasher.hexdigests()
    return EwfMedia(
        size=size,
        digests=digests,
        stored_digests=imager,
        header=header,
        media=facts,
    )
