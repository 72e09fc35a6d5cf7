"""A court's mirror of the tiled log: checked tile by tile, and only ever advanced."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody import tiles
from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
from custody.errors import SplitView, VerificationError
from custody.merkle import MemoryTree, leaf_hash
from custody.mirror import Fetch, mirror, tiles_for

ORIGIN = "lab.example/log"


def served(tree: MemoryTree, key: SigningKey, changes: dict[str, bytes] | None = None) -> Fetch:
    """What a tlog-tiles log at ``tree`` serves (``changes`` overrides some paths)."""
    note = sign_checkpoint(Checkpoint(origin=ORIGIN, size=tree.size, root=tree.root()), key)

    def fetch(path: str) -> bytes | None:
        if changes and path in changes:
            return changes[path]
        if path == "checkpoint":
            return note.encode()
        ref = tiles.parse_tile_path(path.removeprefix("tile/"))
        return tiles.hash_tile(ref, tree.size, tree.source)

    return fetch


def grown(prefix: bytes, size: int, base: list[bytes] | None = None) -> MemoryTree:
    leaves = list(base or [])
    leaves += [leaf_hash(prefix + str(i).encode()) for i in range(len(leaves), size)]
    return MemoryTree(leaves)


def test_mirror_grows_and_refuses_a_rewritten_history(tmp_path: Path) -> None:
    key = SigningKey.generate(ORIGIN)
    small = grown(b"e", 300)
    done = mirror(served(small, key), tmp_path, key=key.verifier())
    assert done.previous is None and done.tiles == len(tiles_for(300)) == 3
    leaves = [small.source(0, i) for i in range(300)]
    bigger = grown(b"e", 70_000, leaves)
    again = mirror(served(bigger, key), tmp_path, key=key.verifier())
    assert again.previous is not None and again.previous.size == 300
    assert again.fetched < again.tiles  # full tiles are immutable: not fetched twice
    forked = grown(b"other ", 80_000, leaves[:100])
    with pytest.raises(SplitView, match="rewritten"):
        mirror(served(forked, key), tmp_path, key=key.verifier())
    with pytest.raises(SplitView, match="rolled back"):
        mirror(served(small, key), tmp_path, key=key.verifier())


def test_a_tampered_tile_is_refused(tmp_path: Path) -> None:
    key = SigningKey.generate(ORIGIN)
    tree = grown(b"e", 600)
    bad = bytearray(tiles.hash_tile(tiles.TileRef(level=0, index=1, width=256), 600, tree.source))
    bad[5] ^= 1
    with pytest.raises(VerificationError, match="parent entry"):
        mirror(served(tree, key, {"tile/0/001": bytes(bad)}), tmp_path, key=key.verifier())
    assert not (tmp_path / "checkpoint").exists()
