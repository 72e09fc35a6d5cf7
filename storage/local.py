"""The embedded WORM store: a local folder of content-addressed, read-only files.

Be plain about what this protects against. A local folder guards against mistakes and
ordinary users: objects are written once (temp file, fsync, rename, fsync of the
directory), made read-only (0444), never overwritten, and this code refuses to delete them
before their retention ends or while a legal hold is set. It does NOT protect against root
or anyone with write access to the folder, who can chmod and edit at will; such edits are
detected by re-verification, not prevented. COMPLIANCE-grade immutability, which not even
an administrator can lift, is the job of the S3 Object Lock backend (storage/s3.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat as stat_module
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from custody.digests import MultiHasher
from custody.errors import (
    DigestMismatch,
    ObjectMissing,
    RetentionActive,
    StorageUnavailable,
    UploadTooLarge,
)
from storage.base import CHUNK_SIZE, LockState, ObjectInfo, StoredObject, content_key

LOCK_MODE = "LOCAL-WORM"


def _write_all(out: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = out.write(view)
        view = view[written or 0 :]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalWormStore:
    """Content-addressed write-once files under ``root``."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._staging = self.root / ".staging"

    # -- helpers -------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        if not key.startswith("objects/blake3/") or ".." in key.split("/"):
            raise ObjectMissing(f"not an object key of this store: {key!r}")
        return self.root / key

    def _lock_path(self, key: str) -> Path:
        return self._path(key).with_name(self._path(key).name + ".lock.json")

    def _read_lock(self, key: str) -> LockState:
        try:
            data = json.loads(self._lock_path(key).read_text())
        except FileNotFoundError:
            return LockState(mode=None, retain_until=None, legal_hold=False)
        until = data.get("retain_until")
        return LockState(
            mode=LOCK_MODE if until else None,
            retain_until=datetime.fromisoformat(until) if until else None,
            legal_hold=bool(data.get("legal_hold", False)),
        )

    def _write_lock(self, key: str, lock: LockState) -> None:
        path = self._lock_path(key)
        payload = {
            "retain_until": lock.retain_until.isoformat() if lock.retain_until else None,
            "legal_hold": lock.legal_hold,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lock-")
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    # -- protocol ------------------------------------------------------------------------
    def check_ready(self) -> None:
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
            probe = self._staging / ".probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise StorageUnavailable(
                f"local evidence store {self.root} is not writable: {e}; "
                "check CUSTODY_DATA_DIR and its permissions"
            ) from e

    def put(
        self,
        stream: BinaryIO,
        *,
        hasher: MultiHasher,
        max_bytes: int | None = None,
        expected_blake3: str | None = None,
    ) -> StoredObject:
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self._staging, prefix="upload-")
        except OSError as e:
            raise StorageUnavailable(f"cannot write to the local evidence store: {e}") from e
        tmp = Path(tmp_name)
        try:
            # The write of one chunk overlaps the hashing of the same chunk (both release
            # the GIL), so a large intake costs max(disk, hashing), not their sum.
            with os.fdopen(fd, "wb", buffering=0) as out, ThreadPoolExecutor(1) as writer:
                pending: Future[int | None] | None = None
                while True:
                    chunk = stream.read(CHUNK_SIZE)
                    if not chunk:
                        break
                    if max_bytes is not None and hasher.size + len(chunk) > max_bytes:
                        raise UploadTooLarge(
                            f"upload exceeds the limit of {max_bytes} bytes "
                            "(CUSTODY_MAX_UPLOAD_BYTES); split the image or ask the "
                            "administrator to raise the limit"
                        )
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(_write_all, out, chunk)
                    hasher.update(chunk)
                if pending is not None:
                    pending.result()
                os.fsync(out.fileno())
            digests = hasher.hexdigests()
            if expected_blake3 and digests["blake3"] != expected_blake3:
                raise DigestMismatch(
                    f"the content does not match the declared digest (blake3: declared "
                    f"{expected_blake3}, computed {digests['blake3']}); nothing was stored",
                    mismatches=[
                        {
                            "algorithm": "blake3",
                            "declared": expected_blake3,
                            "computed": digests["blake3"],
                        }
                    ],
                )
            key = content_key(digests["blake3"])
            final = self._path(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
                return StoredObject(
                    key=key, version_id=None, size=hasher.size, digests=digests, created=False
                )
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            return StoredObject(
                key=key, version_id=None, size=hasher.size, digests=digests, created=True
            )
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def open(self, key: str, version_id: str | None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError as e:
            raise ObjectMissing(f"stored object {key} is missing from the local store") from e

        def chunks() -> Iterator[bytes]:
            with f:
                while chunk := f.read(CHUNK_SIZE):
                    yield chunk

        return chunks()

    def stat(self, key: str, version_id: str | None) -> ObjectInfo:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError as e:
            raise ObjectMissing(f"stored object {key} is missing from the local store") from e
        lock = self._read_lock(key)
        writable = bool(
            st.st_mode & (stat_module.S_IWUSR | stat_module.S_IWGRP | stat_module.S_IWOTH)
        )
        return ObjectInfo(
            key=key,
            version_id=None,
            size=st.st_size,
            lock=lock
            if not writable
            else LockState(mode=None, retain_until=lock.retain_until, legal_hold=lock.legal_hold),
            latest_version_id=None,
            versions=1,
        )

    def set_retention(self, key: str, version_id: str | None, until: datetime) -> LockState:
        self.stat(key, version_id)
        current = self._read_lock(key)
        if current.retain_until is not None and until < current.retain_until:
            raise RetentionActive(
                f"retention of {key} runs until {current.retain_until.isoformat()}; "
                "it can be extended but never shortened"
            )
        lock = LockState(mode=LOCK_MODE, retain_until=until, legal_hold=current.legal_hold)
        self._write_lock(key, lock)
        return lock

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> LockState:
        self.stat(key, version_id)
        current = self._read_lock(key)
        lock = LockState(mode=current.mode, retain_until=current.retain_until, legal_hold=on)
        self._write_lock(key, lock)
        return lock

    def delete(self, key: str, version_id: str | None) -> None:
        path = self._path(key)
        lock = self._read_lock(key)
        if lock.legal_hold:
            raise RetentionActive(f"{key} is under a legal hold; clear the hold before disposal")
        if lock.retain_until is not None and lock.retain_until > datetime.now(UTC):
            raise RetentionActive(
                f"{key} is retained until {lock.retain_until.isoformat()}; "
                "it cannot be deleted before then"
            )
        try:
            os.chmod(path, 0o644)
            path.unlink()
        except FileNotFoundError as e:
            raise ObjectMissing(f"stored object {key} is already gone") from e
        _fsync_dir(path.parent)
