"""Files in a bag: written durably and hashed once (SHA-256 and BLAKE3 together)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from custody.digests import CHUNK_SIZE, MultiHasher


@dataclass(frozen=True)
class Hashed:
    size: int
    sha256: str
    blake3: str


def is_regular(path: Path) -> bool:
    """A regular file, not a link or device (a bag never follows links)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def hash_path(path: Path) -> Hashed:
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with MultiHasher(("sha256",)) as hasher, path.open("rb", buffering=0) as f:
        while True:
            n = f.readinto(view)
            if not n:
                break
            hasher.update(view[:n])
        digests = hasher.hexdigests()
        return Hashed(hasher.size, digests["sha256"], digests["blake3"])


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class BagWriter:
    """Writes files under a bag root, remembering each payload file's size and digests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.payload: dict[str, Hashed] = {}  # "data/…" → digests

    def _target(self, rel: str) -> Path:
        target = self.root.joinpath(*PurePosixPath(rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, rel: str, data: bytes) -> Hashed:
        target = self._target(rel)
        with target.open("xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with MultiHasher(("sha256",)) as hasher:
            hasher.update(data)
            digests = hasher.hexdigests()
        written = Hashed(len(data), digests["sha256"], digests["blake3"])
        if rel.startswith("data/"):
            self.payload[rel] = written
        return written

    def copy(self, rel: str, source: Path, progress: Callable[[int], None] | None) -> Hashed:
        """Stream ``source`` into the bag in 1 MiB chunks, hashing every byte once."""
        target = self._target(rel)
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        with (
            MultiHasher(("sha256",)) as hasher,
            source.open("rb", buffering=0) as src,
            target.open("xb") as dst,
        ):
            while True:
                n = src.readinto(view)
                if not n:
                    break
                hasher.update(view[:n])
                dst.write(view[:n])
                if progress is not None:
                    progress(n)
            dst.flush()
            os.fsync(dst.fileno())
            digests = hasher.hexdigests()
            written = Hashed(hasher.size, digests["sha256"], digests["blake3"])
        self.payload[rel] = written
        return written

    def fsync_tree(self) -> None:
        for directory, _, _ in os.walk(self.root):
            fsync_dir(Path(directory))
