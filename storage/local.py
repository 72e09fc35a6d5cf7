"""The embedded WORM store: a local folder of content-addressed, read-only files.

Be plain about what this protects against. A local folder guards against mistakes and
ordinary users: objects are written once (temp file, fsync, rename, fsync of the
directory), made read-only (0444), never overwritten, and this code refuses to delete them
before their retention ends or while a legal hold is set. It does NOT protect against root
or anyone with write access to the folder, who can chmod and edit at will; such edits are
detected by re-verification, not prevented. COMPLIANCE-grade immutability, which not even
an administrator can lift, is the job of the S3 Object Lock backend (storage/s3/).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat as stat_module
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from custody.digests import MultiHasher
from custody.errors import (
    DigestMismatch,
    ObjectMissing,
    RetentionActive,
    StorageError,
    StorageFull,
    StorageUnavailable,
    UploadTooLarge,
)
from storage.base import (
    CHUNK_SIZE,
    LockState,
    ObjectInfo,
    ObjectListing,
    StoredObject,
    SweepResult,
    content_key,
)
from storage.durable import fsync_dir, is_full, probe_write, write_all

LOCK_MODE = "LOCAL-WORM"
_OBJECT_NAME = re.compile(r"[0-9a-f]{64}")
_LOCK_TEMP_PREFIX = ".lock-"


class LocalWormStore:
    """Content-addressed write-once files under ``root``."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._staging = self.root / ".staging"
        self._objects = self.root / "objects" / "blake3"

    # -- error translation -----------------------------------------------------------------
    def _translate(self, e: OSError, action: str) -> StorageError:
        """The custody error for an OSError met while doing ``action``."""
        if is_full(e):
            return StorageFull(
                f"the local evidence store {self.root} is full ({e.strerror}) and could not "
                f"{action}; free space on that disk (CUSTODY_DATA_DIR) or move the store, "
                "then try again"
            )
        return StorageUnavailable(
            f"the local evidence store {self.root} could not {action}: {e}; check "
            "CUSTODY_DATA_DIR, its permissions and the disk"
        )

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except OSError as e:
            raise self._translate(e, action) from e

    # -- helpers -------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        if not key.startswith("objects/blake3/") or ".." in key.split("/"):
            raise ObjectMissing(f"not an object key of this store: {key!r}")
        return self.root / key

    def _lock_path(self, key: str) -> Path:
        return self._path(key).with_name(self._path(key).name + ".lock.json")

    def _read_lock(self, key: str) -> LockState:
        path = self._lock_path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return LockState(mode=None, retain_until=None, legal_hold=False)
        except OSError as e:
            raise self._translate(e, f"read the retention record of {key}") from e
        try:
            data: Any = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            until = data.get("retain_until")
            retain_until = datetime.fromisoformat(until) if until else None
        except (ValueError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError too
            raise StorageError(
                f"the retention record {path} of {key} is damaged ({e}); it was changed "
                "outside the service: restore it from a backup and re-verify the evidence"
            ) from e
        return LockState(
            mode=LOCK_MODE if retain_until else None,
            retain_until=retain_until,
            legal_hold=bool(data.get("legal_hold", False)),
        )

    def _write_lock(self, key: str, lock: LockState) -> None:
        path = self._lock_path(key)
        payload = {
            "retain_until": lock.retain_until.isoformat() if lock.retain_until else None,
            "legal_hold": lock.legal_hold,
        }
        with self._errors(f"record the lock of {key}"):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_LOCK_TEMP_PREFIX)
            try:
                try:
                    write_all(fd, json.dumps(payload).encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            fsync_dir(path.parent)

    # -- protocol ------------------------------------------------------------------------
    def check_ready(self) -> None:
        try:
            probe_write(self._staging)
        except OSError as e:
            raise self._translate(e, "take a write (readiness probe)") from e

    def put(
        self,
        stream: BinaryIO,
        *,
        hasher: MultiHasher,
        max_bytes: int | None = None,
        expected_blake3: str | None = None,
    ) -> StoredObject:
        with self._errors("start storing the upload"):
            self._staging.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self._staging, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            with self._errors("store the upload; nothing of it was kept"):
                return self._put(fd, tmp, stream, hasher, max_bytes, expected_blake3)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def _put(
        self,
        fd: int,
        tmp: Path,
        stream: BinaryIO,
        hasher: MultiHasher,
        max_bytes: int | None,
        expected_blake3: str | None,
    ) -> StoredObject:
        # The write of one chunk overlaps the hashing of the same chunk (both release
        # the GIL), so a large intake costs max(disk, hashing), not their sum.
        try:
            with ThreadPoolExecutor(1) as writer:
                pending: Future[None] | None = None
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
                    pending = writer.submit(write_all, fd, chunk)
                    hasher.update(chunk)
                if pending is not None:
                    pending.result()
            os.fsync(fd)
        finally:
            os.close(fd)
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
        os.chmod(tmp, 0o444)
        try:
            # a link never replaces: of identical uploads racing here, exactly one files it
            os.link(tmp, final)
            created = True
        except FileExistsError:
            created = False
        tmp.unlink()
        if created:
            fsync_dir(final.parent)
        return StoredObject(
            key=key, version_id=None, size=hasher.size, digests=digests, created=created
        )

    def open(self, key: str, version_id: str | None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError as e:
            raise ObjectMissing(f"stored object {key} is missing from the local store") from e
        except OSError as e:
            raise self._translate(e, f"open {key}") from e

        def chunks() -> Iterator[bytes]:
            with f, self._errors(f"read {key}"):
                while chunk := f.read(CHUNK_SIZE):
                    yield chunk

        return chunks()

    def read_range(self, key: str, version_id: str | None, offset: int, length: int) -> bytes:
        path = self._path(key)
        try:
            with path.open("rb") as f:
                f.seek(offset)
                return f.read(length)
        except FileNotFoundError as e:
            raise ObjectMissing(f"stored object {key} is missing from the local store") from e
        except OSError as e:
            raise self._translate(e, f"read {key}") from e

    def local_path(self, key: str, version_id: str | None) -> str | None:
        path = self._path(key)
        if not path.is_file():
            raise ObjectMissing(f"stored object {key} is missing from the local store")
        return str(path)

    def stat(self, key: str, version_id: str | None) -> ObjectInfo:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError as e:
            raise ObjectMissing(f"stored object {key} is missing from the local store") from e
        except OSError as e:
            raise self._translate(e, f"inspect {key}") from e
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
        except OSError as e:
            raise self._translate(e, f"delete {key}") from e
        with self._errors(f"make the deletion of {key} durable"):
            fsync_dir(path.parent)

    # -- housekeeping ----------------------------------------------------------------------
    def _object_dirs(self) -> Iterator[Path]:
        """The ``objects/blake3/ab/cd`` folders (two hex levels)."""
        if not self._objects.is_dir():
            return
        for first in sorted(self._objects.iterdir()):
            if first.is_dir():
                yield from (d for d in sorted(first.iterdir()) if d.is_dir())

    def sweep_staging(self, older_than: datetime) -> SweepResult:
        """Remove staging files and stray lock temp files last written before ``older_than``.

        The age is the file's modification time: an upload in progress keeps touching its
        staging file, so only intakes that stopped (a crash, a kill -9) are swept.
        """
        cutoff = older_than.timestamp()
        removed = freed = 0
        with self._errors("sweep the staging area"):
            candidates: list[Path] = []
            if self._staging.is_dir():
                candidates += [p for p in self._staging.iterdir() if p.is_file()]
            for folder in self._object_dirs():
                candidates += [p for p in folder.glob(_LOCK_TEMP_PREFIX + "*") if p.is_file()]
            for path in candidates:
                try:
                    st = path.stat()
                    if st.st_mtime >= cutoff:
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue  # finished or swept meanwhile
                removed += 1
                freed += st.st_size
        return SweepResult(staging_removed=removed, bytes_freed=freed)

    def list_objects(self) -> Iterator[ObjectListing]:
        with self._errors("list the stored objects"):
            for folder in self._object_dirs():
                for path in sorted(folder.iterdir()):
                    if not _OBJECT_NAME.fullmatch(path.name):
                        continue
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue  # disposed meanwhile
                    yield ObjectListing(
                        key=content_key(path.name),
                        version_id=None,
                        size=st.st_size,
                        modified=datetime.fromtimestamp(st.st_mtime, UTC),
                    )
