"""An image as its INTAKE entry records it: the parts (container level) and the media.

``parts`` lists each stored file in order with its own digests and object address;
``image`` holds the media digests, what the imager stored, and its header metadata. The
item's top-level ``digests`` keep their meaning, the stored bytes: for one part that part's
digests, for several the digests of the parts joined in order (``cat img.E0? | sha256sum``),
which for a split raw image are the media digests as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.errors import LedgerIntegrityError
from custody.images.detect import ImageFormat


def _digests(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}


@dataclass(frozen=True, kw_only=True)
class PartRecord:
    """One stored file of an item: a segment (E02) or a split raw part (.002)."""

    index: int  # 1-based; part N is segment N
    name: str
    size: int
    digests: Mapping[str, str]
    object_key: str
    object_version: str | None

    @property
    def label(self) -> str:
        return f"part {self.index} ({self.name})" if self.name else f"part {self.index}"

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "size": self.size,
            "digests": dict(self.digests),
            "object_key": self.object_key,
            "object_version": self.object_version,
        }

    @classmethod
    def from_json(cls, value: object, *, seq: int | None = None) -> PartRecord:
        if not isinstance(value, Mapping):
            raise LedgerIntegrityError(f"INTAKE entry {seq}: a part is not an object", seq=seq)
        index, size = value.get("index"), value.get("size")
        if not isinstance(index, int) or not isinstance(size, int) or isinstance(size, bool):
            raise LedgerIntegrityError(
                f"INTAKE entry {seq}: a part lacks its index or size", seq=seq
            )
        version = value.get("object_version")
        return cls(
            index=index,
            name=str(value.get("name") or ""),
            size=size,
            digests=_digests(value.get("digests")),
            object_key=str(value.get("object_key") or ""),
            object_version=version if isinstance(version, str) else None,
        )


@dataclass(frozen=True, kw_only=True)
class ImageRecord:
    """The media of an image item: what was computed at intake and what the imager said."""

    format: ImageFormat
    size: int
    digests: Mapping[str, str]
    stored_digests: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": str(self.format),
            "size": self.size,
            "digests": dict(self.digests),
            "stored_digests": dict(self.stored_digests),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, value: object, *, seq: int | None = None) -> ImageRecord:
        if not isinstance(value, Mapping):
            raise LedgerIntegrityError(f"INTAKE entry {seq}: image is not an object", seq=seq)
        size = value.get("size")
        try:
            fmt = ImageFormat(str(value.get("format")))
        except ValueError as e:
            raise LedgerIntegrityError(
                f"INTAKE entry {seq}: unknown image format {value.get('format')!r}", seq=seq
            ) from e
        if not isinstance(size, int) or isinstance(size, bool):
            raise LedgerIntegrityError(f"INTAKE entry {seq}: image has no size", seq=seq)
        metadata = value.get("metadata")
        return cls(
            format=fmt,
            size=size,
            digests=_digests(value.get("digests")),
            stored_digests=_digests(value.get("stored_digests")),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
        )


def mismatches(
    expected: Mapping[str, str], computed: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """``(algorithm, expected, computed)`` for each expected value that differs."""
    return [
        (a, v, computed.get(a, "(not computed)"))
        for a, v in sorted(expected.items())
        if computed.get(a) != v
    ]


def declared_problem(
    declared: Mapping[str, str],
    *,
    media: Mapping[str, str],
    container: Mapping[str, str],
    fmt: ImageFormat,
) -> str | None:
    """Why declared digests do not fit the media, with the hint a technician needs, or None.

    For an image, declared values describe the media (that is what imagers print); a value
    equal to the container's digest is named as such.
    """
    wrong = mismatches(declared, media)
    if not wrong:
        return None
    text = "; ".join(f"{a}: declared {d}, media computes {c}" for a, d, c in wrong)
    hint = ""
    if any(container.get(a) == d for a, d, _ in wrong):
        hint = (
            f". The declared value is the digest of the {fmt.upper()} file itself (the "
            "container): E01 hashes, as the imager's log and ewfverify print them, describe "
            "the media, not the file. Declare the media hash, or give the file's digest as "
            "declared_container_digests"
        )
    return f"declared digest does not match the media ({text}){hint}"


def parts_summary(parts: Sequence[PartRecord]) -> str:
    return ", ".join(p.name or str(p.index) for p in parts)
