"""C2SP tlog-tiles: the ledger's Merkle tree as static, immutable, cacheable tiles.

Tile ``(L, N)`` holds the hashes of the complete subtrees of height ``8·L`` numbered
``N·256 … N·256+255`` — exactly the nodes the ledger stores at Merkle level ``8·L`` — so a
tile is a read of up to 256 stored nodes and never changes once it exists. A partial tile
``.p/W`` holds the first ``W`` of them. Entry bundles hold the entries themselves, each as
a big-endian uint16 length and its canonical bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from custody.errors import InputError, NotFound
from custody.merkle import SubtreeSource

TILE_WIDTH = 256
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF
_ELEMENT = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"[0-9]{3}")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")


@dataclass(frozen=True, kw_only=True)
class TileRef:
    """A tile path: ``level`` None for an entry bundle; ``width`` 256 for a full tile."""

    level: int | None
    index: int
    width: int

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH


def encode_index(n: int) -> str:
    """``1234067`` → ``x001/x234/067`` (tlog-tiles)."""
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n > 0:
        parts.insert(0, f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(parts)


def tile_path(ref: TileRef) -> str:
    level = "entries" if ref.level is None else str(ref.level)
    suffix = "" if ref.full else f".p/{ref.width}"
    return f"tile/{level}/{encode_index(ref.index)}{suffix}"


def parse_tile_path(path: str) -> TileRef:
    """Parse what follows ``tile/``: ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]``."""
    parts = path.strip("/").split("/")
    if len(parts) < 2:
        raise NotFound(f"no tile at {path!r}")
    head, rest = parts[0], parts[1:]
    if head == "entries":
        level: int | None = None
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise NotFound(f"no tile level {head!r}")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise NotFound(f"no partial tile width {rest[-1]!r}")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    if not _LAST.fullmatch(rest[-1]) or not all(_ELEMENT.fullmatch(p) for p in rest[:-1]):
        raise NotFound(f"malformed tile index in {path!r}")
    if len(rest) > 1 and rest[0] == "x000":
        raise NotFound(f"tile index in {path!r} has a leading zero element")
    index = 0
    for part in rest:
        index = index * 1000 + int(part.lstrip("x"))
    return TileRef(level=level, index=index, width=width)


def _first_leaf(ref: TileRef) -> int:
    level = ref.level or 0
    return ref.index * TILE_WIDTH * (1 << (8 * level))


def check_available(ref: TileRef, size: int) -> None:
    """Refuse a tile that the tree of ``size`` leaves cannot fill yet (404, never a guess)."""
    level = ref.level or 0
    span = 1 << (8 * level)
    end = _first_leaf(ref) + ref.width * span
    if end > size:
        raise NotFound(f"{tile_path(ref)} is beyond the log's size {size}")


def hash_tile(ref: TileRef, size: int, source: SubtreeSource) -> bytes:
    """The concatenated 32-byte hashes of a Merkle tile."""
    if ref.level is None:
        raise InputError("an entry bundle is not a hash tile")
    check_available(ref, size)
    level = 8 * ref.level
    start = ref.index * TILE_WIDTH
    return b"".join(source(level, start + i) for i in range(ref.width))


def entry_range(ref: TileRef, size: int) -> range:
    """The sequence numbers of the entries in an entry bundle."""
    if ref.level is not None:
        raise InputError("a hash tile is not an entry bundle")
    check_available(ref, size)
    start = ref.index * TILE_WIDTH
    return range(start, start + ref.width)


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Big-endian uint16 length-prefixed entries (tlog-tiles entry bundle)."""
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_BYTES:
            raise InputError(f"an entry of {len(data)} bytes does not fit an entry bundle")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)
