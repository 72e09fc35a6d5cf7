"""Fault injection at the OS boundary: a disk that is full, or read-only, under one folder.

No tmpfs or loop device is available without root tricks, so the failure is injected
where the kernel would report it: ``os.write`` (the store, the durable files and the
readiness probe write through it) raises ``OSError(ENOSPC)`` for a non-empty write to a
file under the given folder — exactly what a full disk does; an empty write still works,
which is why a readiness probe that writes an empty file would not notice.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest


def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


class FullDisk:
    """Make non-empty ``os.write`` calls under ``root`` fail with ``code`` (ENOSPC)."""

    def __init__(
        self,
        root: Path,
        *,
        code: int = errno.ENOSPC,
        only: Callable[[str], bool] = lambda _path: True,
    ) -> None:
        self.root = str(root.resolve())
        self.code = code
        self.only = only
        self.refused = 0
        self._write = os.write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        path = fd_path(fd)
        if len(data) and path.startswith(self.root + os.sep) and self.only(path):
            self.refused += 1
            raise OSError(self.code, os.strerror(self.code))
        return self._write(fd, data)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FullDisk:
        monkeypatch.setattr(os, "write", self)
        return self
