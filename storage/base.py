"""The ObjectStore protocol every backend implements, and the values it returns.

The service hashes each upload exactly once: a backend reads the stream, feeds every chunk
to the caller's ``MultiHasher`` (which always includes BLAKE3), writes it to staging, and
only then files it under its content address ``objects/blake3/ab/cd/<hex>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

from custody.digests import MultiHasher

CHUNK_SIZE = 1024 * 1024


def content_key(blake3_hex: str) -> str:
    """The content address of an object: ``objects/blake3/ab/cd/<hex>``."""
    return f"objects/blake3/{blake3_hex[0:2]}/{blake3_hex[2:4]}/{blake3_hex}"


@dataclass(frozen=True, kw_only=True)
class StoredObject:
    """What a put returns: where the bytes are, which version, how many, and all digests."""

    key: str
    version_id: str | None
    size: int
    digests: dict[str, str]
    created: bool  # False when identical content was already stored


@dataclass(frozen=True, kw_only=True)
class LockState:
    """The lock an object is under, as the store reports it."""

    mode: str | None  # "COMPLIANCE", "GOVERNANCE", "LOCAL-WORM" or None
    retain_until: datetime | None
    legal_hold: bool


@dataclass(frozen=True, kw_only=True)
class ObjectInfo:
    """What stat reports about one pinned version of an object."""

    key: str
    version_id: str | None
    size: int
    lock: LockState
    latest_version_id: str | None  # the newest version under this key; differs => interference
    versions: int  # how many versions exist under the key


@dataclass(frozen=True, kw_only=True)
class ObjectListing:
    """One object version filed under a content key, as a listing of the store shows it."""

    key: str
    version_id: str | None
    size: int
    modified: datetime


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What a staging sweep removed: leftovers of intakes that never finished."""

    staging_removed: int = 0  # staging files / staging object versions deleted
    uploads_aborted: int = 0  # incomplete multipart uploads aborted (S3)
    bytes_freed: int = 0  # where the backend knows it


@runtime_checkable
class ObjectStore(Protocol):
    """Immutable, content-addressed storage of evidence bytes."""

    name: str

    def check_ready(self) -> None:
        """Raise StorageUnavailable / StorageMisconfigured unless the store is usable and locked."""

    def put(
        self,
        stream: BinaryIO,
        *,
        hasher: MultiHasher,
        max_bytes: int | None = None,
        expected_blake3: str | None = None,
    ) -> StoredObject:
        """Store the stream under its BLAKE3 address; identical content returns the existing object.

        Raises UploadTooLarge past ``max_bytes`` and leaves nothing referenced behind. With
        ``expected_blake3`` (declared by the client) a backend may write straight to that
        address, and raises DigestMismatch, storing nothing, if the content disagrees.
        """

    def open(self, key: str, version_id: str | None) -> Iterator[bytes]:
        """Yield the pinned version's bytes in chunks; ObjectMissing if it has gone."""

    def read_range(self, key: str, version_id: str | None, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of the pinned version from ``offset`` (random access, for
        libewf reading an image's media); ObjectMissing if it has gone."""

    def local_path(self, key: str, version_id: str | None) -> str | None:
        """A file path a native reader may open read-only, where the store has one; else None."""

    def stat(self, key: str, version_id: str | None) -> ObjectInfo:
        """Report size, lock state and whether newer versions exist; ObjectMissing if gone."""

    def set_retention(self, key: str, version_id: str | None, until: datetime) -> LockState:
        """Apply or extend retention (COMPLIANCE where the backend supports it); never shorten."""

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> LockState:
        """Set or clear a legal hold."""

    def delete(self, key: str, version_id: str | None) -> None:
        """Remove the content after disposal; RetentionActive while retained or held."""

    def sweep_staging(self, older_than: datetime) -> SweepResult:
        """Delete staging leftovers last touched before ``older_than`` (crashed intakes).

        Only the staging area is touched: nothing filed under a content key is removed.
        """

    def list_objects(self) -> Iterator[ObjectListing]:
        """Every object version filed under a content key (for the orphan reconciliation)."""
