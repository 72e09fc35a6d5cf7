"""Small files that must survive a crash: atomic creation, fsynced appends, a write probe.

Everything here goes through ``os.write`` and ``os.fsync`` on raw descriptors, so a full
disk shows up as ``OSError(ENOSPC)`` at the write that hit it (and fault-injection tests
can reach that boundary), and a file is either absent or complete, never half-written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

PROBE_BYTES = b"custody readiness probe: a real, fsynced write\n"


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until every byte is written (it may write fewer than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _temp_beside(path: Path, mode: int) -> tuple[int, Path]:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), tmp


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path, mode)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: temp file, fsync, rename, fsync of the directory."""
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes, *, mode: int = 0o600) -> bool:
    """Create ``path`` with ``data`` unless it exists; False if another writer was first.

    The complete, fsynced temp file is hard-linked into place, so two processes starting
    at once never both believe they created it, and nobody ever reads a partial file.
    """
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)
    return True


def append_line(path: Path, line: bytes, *, mode: int = 0o600) -> None:
    """Append one line (``O_APPEND``) and fsync it before returning."""
    if b"\n" in line:
        raise ValueError("a register line must not contain a newline")
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        write_all(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def probe_write(directory: Path) -> None:
    """Prove ``directory`` takes a real write: non-empty, fsynced, then removed.

    An empty probe file succeeds on a full disk (it needs no data block), so readiness
    built on one would report a full disk as ready.
    """
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / f".probe-{secrets.token_hex(6)}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            write_all(fd, PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            probe.unlink()


def is_full(e: OSError) -> bool:
    """Whether ``e`` says the disk or the quota is full."""
    return e.errno in (errno.ENOSPC, errno.EDQUOT)
