"""tlog-tiles: our tiles, written as static files, are read by tlog-scales' own reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from tlog_scales import tiles as scales_tiles
from tlog_scales.backend import LocalBackend
from tlog_scales.reader import TilesReader

from custody import tiles
from custody.errors import NotFound
from custody.merkle import MemoryTree, leaf_hash


@pytest.mark.parametrize("n", [0, 7, 999, 1000, 1234067, 256**3])
@pytest.mark.parametrize("level", [None, 0, 3])
@pytest.mark.parametrize("width", [256, 1, 77])
def test_paths_match_tlog_scales(n: int, level: int | None, width: int) -> None:
    ref = tiles.TileRef(level=level, index=n, width=width)
    theirs = "/".join(scales_tiles.tile_path(-1 if level is None else level, n, width % 256))
    assert tiles.tile_path(ref) == theirs
    assert tiles.parse_tile_path(theirs.removeprefix("tile/")) == ref


@pytest.mark.parametrize(
    "path", ["0/x000/001", "0/01", "64/000", "0/000.p/256", "0/000.p/0", "entries/1000", "00/000"]
)
def test_malformed_tile_paths_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        tiles.parse_tile_path(path)


def write_static_log(root: Path, entries: list[bytes]) -> MemoryTree:
    """Every tile of the tree, as files: what a court's mirror would hold."""
    tree = MemoryTree([leaf_hash(e) for e in entries])
    size = tree.size
    for level in range(3):
        count = size >> (8 * level)
        for n in range(count // 256 + 1):
            width = min(256, count - n * 256)
            if width <= 0:
                continue
            ref = tiles.TileRef(level=level, index=n, width=width)
            target = root / tiles.tile_path(ref)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tiles.hash_tile(ref, size, tree.source))
            if level == 0:
                seqs = tiles.entry_range(tiles.TileRef(level=None, index=n, width=width), size)
                bundle = root / tiles.tile_path(tiles.TileRef(level=None, index=n, width=width))
                bundle.parent.mkdir(parents=True, exist_ok=True)
                bundle.write_bytes(tiles.entry_bundle([entries[i] for i in seqs]))
    return tree


@pytest.mark.parametrize("size", [1, 255, 256, 257, 70_000])
def test_tlog_scales_recomputes_our_root_and_reads_our_entries(tmp_path: Path, size: int) -> None:
    entries = [f"entry {i}".encode() for i in range(size)]
    tree = write_static_log(tmp_path, entries)
    reader = TilesReader(LocalBackend(tmp_path))
    reader.set_size(size)
    assert reader.calculate_root_hash() == tree.root()
    for index in {0, size // 2, size - 1}:
        assert reader.get_entry(index) == entries[index]
        proof = reader.get_inclusion_proof(index, size)
        proof.check(leaf_hash(entries[index]), tree.root())
    if size > 2:
        old = size // 3
        consistency = reader.get_consistency_proof(old, size)
        assert consistency.node_hashes == tree.consistency_proof(old)


def test_a_tile_beyond_the_tree_is_not_served() -> None:
    tree = MemoryTree([leaf_hash(b"x")] * 10)
    with pytest.raises(NotFound):
        tiles.hash_tile(tiles.TileRef(level=0, index=0, width=11), 10, tree.source)
    with pytest.raises(NotFound):
        tiles.hash_tile(tiles.TileRef(level=0, index=0, width=256), 10, tree.source)
    assert len(tiles.hash_tile(tiles.TileRef(level=0, index=0, width=10), 10, tree.source)) == 320
