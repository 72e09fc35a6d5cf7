"""Reading an image's stored parts back through the store: both levels, one service.

Used at intake (after the parts are durable, so the media digests describe what is kept,
not what was sent) and at re-verification. The container level is each part re-read and
hashed, and the parts joined in order; the media level is libewf reading the stored
segments (EWF), or the joined parts themselves (split raw).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from api.context import AppContext
from custody.digests import MultiHasher
from custody.errors import CustodyError, ObjectMissing
from custody.images import ewf_reader
from custody.images.detect import HEAD_BYTES, TAIL_BYTES, ImageFormat
from custody.images.record import PartRecord
from custody.intake_record import intake_record
from custody.ledger import Action
from custody.models import LedgerEntry
from storage.base import ObjectStore

READ_AHEAD = 8 * 1024 * 1024


class StoredRangeFile(io.RawIOBase):
    """A seekable, read-only file over one stored object version (libewf's file object)."""

    def __init__(self, store: ObjectStore, key: str, version_id: str | None, size: int) -> None:
        self._store, self._key, self._version, self._size = store, key, version_id, size
        self._pos = 0
        self._buf = b""
        self._buf_at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def get_size(self) -> int:
        return self._size

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = min(size, max(0, self._size - self._pos))
        if size == 0:
            return b""
        start = self._pos - self._buf_at
        if not (start >= 0 and start + size <= len(self._buf)):
            want = min(max(size, READ_AHEAD), self._size - self._pos)
            self._buf = self._store.read_range(self._key, self._version, self._pos, want)
            self._buf_at, start = self._pos, 0
        out = self._buf[start : start + size]
        self._pos += len(out)
        return out

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def part_sources(ctx: AppContext, parts: Sequence[PartRecord]) -> ewf_reader.Opener:
    """Fresh sources of the parts in order: file paths where the store has them."""
    paths = [ctx.store.local_path(p.object_key, p.object_version) for p in parts]
    if all(paths):
        fixed = [str(p) for p in paths]
        return lambda: list(fixed)

    def files() -> list[ewf_reader.Source]:
        return [
            cast(BinaryIO, StoredRangeFile(ctx.store, p.object_key, p.object_version, p.size))
            for p in parts
        ]

    return files


def head_and_tail(ctx: AppContext, part: PartRecord) -> tuple[bytes, bytes]:
    head = ctx.store.read_range(part.object_key, part.object_version, 0, HEAD_BYTES)
    tail_at = max(0, part.size - TAIL_BYTES)
    tail = ctx.store.read_range(part.object_key, part.object_version, tail_at, TAIL_BYTES)
    return head, tail


@dataclass(frozen=True, kw_only=True)
class PartReading:
    """One part re-read from the store: its size and digests now, or why it could not be."""

    part: PartRecord
    size: int | None
    digests: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerReading:
    """Every part re-read in order, and the digests of the parts joined."""

    parts: list[PartReading]
    joined_size: int | None
    joined: dict[str, str]

    @property
    def complete(self) -> bool:
        return all(p.problem is None for p in self.parts)


def read_container(
    ctx: AppContext,
    parts: Sequence[PartRecord],
    algorithms: Sequence[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> ContainerReading:
    """Re-read each part (its own digests) and the parts joined in order, in one pass."""
    readings: list[PartReading] = []
    with MultiHasher(algorithms) as joined:
        for part in parts:
            try:
                with MultiHasher(algorithms) as own:
                    for chunk in ctx.store.open(part.object_key, part.object_version):
                        own.update(chunk)
                        joined.update(chunk)
                        if progress is not None:
                            progress(len(chunk))
                    readings.append(PartReading(part=part, size=own.size, digests=own.hexdigests()))
            except ObjectMissing as e:
                readings.append(PartReading(part=part, size=None, problem=e.message))
        complete = all(r.problem is None for r in readings)
        return ContainerReading(
            parts=readings,
            joined_size=joined.size if complete else None,
            joined=joined.hexdigests() if complete else {},
        )


@dataclass(frozen=True, kw_only=True)
class MediaReading:
    """The media as read now, or why it could not be read (the message names the level)."""

    size: int | None
    digests: dict[str, str] = field(default_factory=dict)
    stored_digests: dict[str, str] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)
    media: dict[str, object] = field(default_factory=dict)
    problem: str | None = None
    unavailable: bool = False  # libewf is not installed here


def read_media(
    ctx: AppContext,
    fmt: ImageFormat,
    parts: Sequence[PartRecord],
    algorithms: Sequence[str],
    container: ContainerReading | None = None,
) -> MediaReading:
    """The media digests: libewf over the stored segments, or the joined raw parts."""
    if fmt is ImageFormat.RAW:
        if container is None:
            container = read_container(ctx, parts, algorithms)
        if not container.complete:
            return MediaReading(size=None, problem="a part could not be read")
        return MediaReading(size=container.joined_size, digests=dict(container.joined))
    if not ewf_reader.available():
        return MediaReading(
            size=None, problem=f"not re-read: {ewf_reader.INSTALL_HINT}", unavailable=True
        )
    try:
        media = ewf_reader.read_ewf(part_sources(ctx, parts), algorithms)
    except CustodyError as e:
        return MediaReading(size=None, problem=e.message)
    return MediaReading(
        size=media.size,
        digests=media.digests,
        stored_digests=media.stored_digests,
        header=media.header,
        media=media.media,
    )


def parts_of_others(session: Session, evidence_id: str) -> set[tuple[str, str | None]]:
    """Stored parts that items other than ``evidence_id`` (not disposed) reference."""
    from api.services.evidence_view import evidence_state
    from custody.state import EvidenceStatus

    found: set[tuple[str, str | None]] = set()
    rows = session.execute(
        select(LedgerEntry).where(col(LedgerEntry.action) == Action.INTAKE)
    ).scalars()
    for row in rows:
        if row.evidence_id == evidence_id or row.evidence_id is None:
            continue
        record = intake_record(json.loads(row.canonical))
        if evidence_state(session, record.evidence_id).status == EvidenceStatus.DISPOSED:
            continue
        found.update((p.object_key, p.object_version) for p in record.stored_parts())
    return found
