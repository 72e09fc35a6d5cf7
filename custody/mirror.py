"""Mirroring a tlog-tiles log into a folder that any static web server can serve.

Nothing fetched is trusted: the checkpoint must be signed by the trusted key (and, if
asked, cosigned by enough trusted witnesses); every full tile must hash to its entry in
the tile above; the partial tiles and the top must reproduce the signed root; and a mirror
that already holds a checkpoint is only advanced when the new tiles reproduce the old root
at the old size — the log only grew. Files are written atomically (temp, fsync, rename)
and the checkpoint last, so an interrupted mirror is still a consistent older mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from custody import merkle
from custody.atomic import write_atomic
from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.cosignature import WitnessKey, check_cosignatures
from custody.errors import CosignatureError, ProofError, SplitView, VerificationError
from custody.tiles import TILE_WIDTH, TileRef, tile_path

Fetch = Callable[[str], bytes | None]
"""``fetch("tile/0/000")`` → the resource's bytes, or None when the log has none."""


@dataclass(frozen=True, kw_only=True)
class Mirrored:
    checkpoint: Checkpoint
    previous: Checkpoint | None
    tiles: int
    fetched: int


def tiles_for(size: int) -> list[TileRef]:
    """Every hash tile a tree of ``size`` leaves has: full ones, then each level's partial."""
    refs: list[TileRef] = []
    level = 0
    while size >> (8 * level):
        count = size >> (8 * level)
        refs.extend(TileRef(level=level, index=n, width=TILE_WIDTH) for n in range(count // 256))
        if count % 256:
            refs.append(TileRef(level=level, index=count // 256, width=count % 256))
        level += 1
    return refs


def _check_tile(ref: TileRef, data: bytes) -> list[bytes]:
    if len(data) != 32 * ref.width:
        raise VerificationError(f"{tile_path(ref)} is {len(data)} bytes, not {32 * ref.width}")
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def mirror(
    fetch: Fetch,
    out: Path,
    *,
    key: VerifierKey,
    witnesses: Sequence[WitnessKey] = (),
    min_witnesses: int = 0,
) -> Mirrored:
    raw = fetch("checkpoint")
    if raw is None:
        raise VerificationError("the log serves no checkpoint")
    note = raw.decode("utf-8")
    checkpoint = open_checkpoint(note, [key])
    if witnesses:
        _, results = check_cosignatures(note, witnesses)
        vouched = [r.witness.label for r in results if r.status == "ok"]
        if len(vouched) < min_witnesses:
            raise CosignatureError(
                f"only {len(vouched)} of the required {min_witnesses} witnesses cosigned the "
                f"checkpoint of size {checkpoint.size}"
            )
    previous = None
    if (out / "checkpoint").is_file():
        previous = open_checkpoint((out / "checkpoint").read_text(encoding="utf-8"), [key])
        if previous.origin != checkpoint.origin:
            raise VerificationError(f"{out} mirrors another log ({previous.origin!r})")
        if previous.size > checkpoint.size:
            raise SplitView(
                f"the log now serves size {checkpoint.size}, smaller than the mirrored "
                f"{previous.size}: it rolled back"
            )
    hashes: dict[tuple[int, int], list[bytes]] = {}
    kept: set[tuple[int, int]] = set()  # full tiles read from the mirror itself
    fetched = 0
    for ref in tiles_for(checkpoint.size):
        local = out / tile_path(ref)
        if ref.full and local.is_file():  # immutable: a full tile never changes
            data = local.read_bytes()
            kept.add((ref.level or 0, ref.index))
        else:
            got = fetch(tile_path(ref))
            if got is None:
                raise VerificationError(f"the log does not serve {tile_path(ref)}")
            data, fetched = got, fetched + 1
        hashes[(ref.level or 0, ref.index)] = _check_tile(ref, data)

    def source(level: int, index: int) -> bytes:
        if level % 8 == 0:
            tile = hashes.get((level // 8, index // TILE_WIDTH))
            if tile is None or index % TILE_WIDTH >= len(tile):
                raise ProofError(f"no tile holds the subtree at level {level}, index {index}")
            return tile[index % TILE_WIDTH]
        return merkle.node_hash(source(level - 1, 2 * index), source(level - 1, 2 * index + 1))

    for (level, index), tile in hashes.items():  # each full tile is its parent's entry
        if len(tile) == TILE_WIDTH and source(8 * (level + 1), index) != _within(tile, 8, 0):
            if (level, index) in kept:
                raise SplitView(
                    f"the log's tiles contradict the mirrored tile {level}/{index}: the history "
                    "was rewritten, or two views are served"
                )
            raise VerificationError(f"tile {level}/{index} does not hash to its parent entry")
    if merkle.root(checkpoint.size, source) != checkpoint.root:
        raise VerificationError("the tiles do not reproduce the signed root")
    if previous is not None and merkle.root(previous.size, source) != previous.root:
        raise SplitView(
            f"the log's tiles give another root for the mirrored size {previous.size}: the "
            "history was rewritten, or two views are served"
        )
    for ref in tiles_for(checkpoint.size):
        local = out / tile_path(ref)
        if not local.is_file():
            write_atomic(local, b"".join(hashes[(ref.level or 0, ref.index)]), mode=0o644)
    write_atomic(out / "checkpoint", note.encode("utf-8"), mode=0o644)
    return Mirrored(
        checkpoint=checkpoint,
        previous=previous,
        tiles=len(tiles_for(checkpoint.size)),
        fetched=fetched,
    )


def _within(tile: list[bytes], level: int, index: int) -> bytes:
    """A subtree inside one full tile (its entries are the leaves)."""
    if level == 0:
        return tile[index]
    return merkle.node_hash(
        _within(tile, level - 1, 2 * index), _within(tile, level - 1, 2 * index + 1)
    )
