"""RFC 9162 §2.1 Merkle trees over stored complete subtrees: roots, proofs, verification.

The ledger stores only *complete* aligned subtrees (``level``, ``index``) — the nodes an
append finishes and never changes again. Every tree computation here reads those nodes
through a :data:`SubtreeSource`, so a root or proof at any size costs O(log n) reads and
never touches the leaves. Verification follows the RFC algorithms literally and is strict:
every hash must be exactly 32 bytes, so an offline verifier cannot be fooled by truncated
or padded values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custody import b64
from custody.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree (RFC 9162 §2.1.1)."""

SubtreeSource = Callable[[int, int], bytes]
"""``source(level, index)`` → hash of the complete subtree over leaves
``[index·2^level, (index+1)·2^level)``; level 0 holds the leaf hashes."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the 0x00 prefix keeps leaves and interior nodes apart."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2): where RFC 9162 splits."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise ProofError(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")
    return bytes(value)


def _check_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{what} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ProofError(f"{what} must not be negative, got {value}")
    return value


def _stored(source: SubtreeSource, level: int, index: int) -> bytes:
    """Read one stored node, refusing anything but a 32-byte hash (a corrupt row)."""
    value: object = source(level, index)
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"stored subtree (level {level}, index {index}) is not a 32-byte hash")
    return value


class _Ranges:
    """MTH(D[lo:hi]) from stored subtrees, memoized so one proof reads each node once."""

    def __init__(self, source: SubtreeSource) -> None:
        self._source = source
        self._memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        key = (lo, hi)
        found = self._memo.get(key)
        if found is not None:
            return found
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            level = n.bit_length() - 1
            value = _stored(self._source, level, lo >> level)
        else:
            k = _split(n)
            value = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        self._memo[key] = value
        return value


def root(size: int, source: SubtreeSource) -> bytes:
    """MTH(D[0:size]); the empty tree's root is SHA-256 of the empty string."""
    _check_size(size, "tree size")
    if size == 0:
        return EMPTY_ROOT
    return _Ranges(source).mth(0, size)


def _inclusion_walk(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs form PATH(index, D[0:size]), in proof order."""
    ranges: list[tuple[int, int]] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m = lo + k, m - k
    ranges.reverse()
    return ranges


def _consistency_walk(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs form PROOF(first, D[0:second]) (0 < first < second)."""
    ranges: list[tuple[int, int]] = []
    # ``whole`` is the RFC's b: still inside the first tree's own root, which needs no hash.
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, source: SubtreeSource) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
    _check_size(index, "leaf index")
    _check_size(size, "tree size")
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    ranges = _Ranges(source)
    return [ranges.mth(lo, hi) for lo, hi in _inclusion_walk(index, size)]


def consistency_proof(first: int, second: int, source: SubtreeSource) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1.

    Equal sizes give the empty proof (SUBPROOF(m, D[m], true) = {}). A proof from the empty
    tree is undefined by the RFC and no verifier accepts one, so ``first == 0 < second``
    is an error rather than a silently useless empty list.
    """
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    if first > second:
        raise ProofError(f"first tree size {first} is larger than second tree size {second}")
    if first == second:
        return []
    if first == 0:
        raise ProofError("a consistency proof from the empty tree is undefined (RFC 9162 §2.1.4)")
    ranges = _Ranges(source)
    return [ranges.mth(lo, hi) for lo, hi in _consistency_walk(first, second)]


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises :class:`ProofError` unless the proof is exactly right."""
    leaf = _check_hash(leaf_hash, "leaf hash")
    expected_root = _check_hash(root, "root hash")
    _check_size(index, "leaf index")
    _check_size(size, "tree size")
    path = [_check_hash(p, f"proof hash #{i}") for i, p in enumerate(proof)]
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    want = len(_inclusion_walk(index, size))
    if len(path) != want:
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {size} must have "
            f"{want} hashes, got {len(path)}"
        )
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != expected_root:
        raise ProofError(
            f"inclusion proof for leaf {index} does not lead to the given root of tree size {size}"
        )


def verify_consistency(
    *,
    first: int,
    second: int,
    proof: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
) -> None:
    """RFC 9162 §2.1.4.2; raises :class:`ProofError` unless the proof is exactly right.

    Equal sizes need an empty proof and equal roots (and size 0 needs the empty-tree root);
    ``first == 0 < second`` proves nothing and is rejected.
    """
    root1 = _check_hash(first_root, "first root hash")
    root2 = _check_hash(second_root, "second root hash")
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    path = [_check_hash(p, f"proof hash #{i}") for i, p in enumerate(proof)]
    if first > second:
        raise ProofError(f"first tree size {first} is larger than second tree size {second}")
    if first == second:
        if path:
            raise ProofError(
                f"consistency proof between equal sizes must be empty, got {len(path)}"
            )
        if root1 != root2:
            raise ProofError(f"trees of the same size {first} have different roots")
        if first == 0 and root1 != EMPTY_ROOT:
            raise ProofError("root of the empty tree must be SHA-256 of the empty string")
        return
    if first == 0:
        raise ProofError("a consistency proof from the empty tree is undefined (RFC 9162 §2.1.4)")
    want = len(_consistency_walk(first, second))
    if len(path) != want:
        raise ProofError(
            f"consistency proof from size {first} to {second} must have {want} hashes, "
            f"got {len(path)}"
        )
    if first & (first - 1) == 0:
        path.insert(0, root1)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the given root of tree size {first}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the given root of tree size {second}")


def completed_nodes(index: int, leaf: bytes, source: SubtreeSource) -> list[tuple[int, int, bytes]]:
    """The (level, index, hash) rows appending leaf ``index`` finishes, the leaf first.

    A node at level l is complete once its last leaf arrives, so the append of leaf i
    completes one node per trailing 1-bit of i; each needs only its stored left sibling.
    """
    _check_size(index, "leaf index")
    current = _check_hash(leaf, "leaf hash")
    nodes = [(0, index, current)]
    level, i = 0, index
    while i & 1:
        current = node_hash(_stored(source, level, i - 1), current)
        level, i = level + 1, i >> 1
        nodes.append((level, i, current))
    return nodes


class MemoryTree:
    """An append-only tree held in memory: for tests and for offline bundle verification."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        self._size = 0
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        return self._size

    def source(self, level: int, index: int) -> bytes:
        """The :data:`SubtreeSource` of this tree."""
        try:
            if level < 0 or index < 0:
                raise IndexError
            return self._levels[level][index]
        except IndexError:
            raise ProofError(
                f"no complete subtree at level {level}, index {index} in a tree of size "
                f"{self._size}"
            ) from None

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; returns its index."""
        index = self._size
        for level, i, value in completed_nodes(index, leaf_hash, self.source):
            if level == len(self._levels):
                self._levels.append([])
            assert len(self._levels[level]) == i
            self._levels[level].append(value)
        self._size += 1
        return index

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self._size
        _check_size(size, "tree size")
        if size > self._size:
            raise ProofError(f"tree size {size} is beyond the current size {self._size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        return root(self._size_or_current(size), self.source)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self._size_or_current(size), self.source)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self._size_or_current(second), self.source)


# --- JSON forms (DESIGN §4) ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InclusionProof:
    """A parsed ``{"leaf_index", "tree_size", "hashes"}`` object."""

    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return inclusion_proof_json(self.leaf_index, self.tree_size, self.hashes)

    def verify(self, *, leaf_hash: bytes, root: bytes) -> None:
        verify_inclusion(
            leaf_hash=leaf_hash,
            index=self.leaf_index,
            size=self.tree_size,
            proof=self.hashes,
            root=root,
        )


@dataclass(frozen=True, kw_only=True)
class ConsistencyProof:
    """A parsed ``{"first", "second", "hashes"}`` object."""

    first: int
    second: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return consistency_proof_json(self.first, self.second, self.hashes)

    def verify(self, *, first_root: bytes, second_root: bytes) -> None:
        verify_consistency(
            first=self.first,
            second=self.second,
            proof=self.hashes,
            first_root=first_root,
            second_root=second_root,
        )


def _encode_hashes(hashes: Sequence[bytes]) -> list[str]:
    return [b64.encode(_check_hash(h, f"proof hash #{i}")) for i, h in enumerate(hashes)]


def inclusion_proof_json(index: int, size: int, hashes: Sequence[bytes]) -> dict[str, Any]:
    """``{"leaf_index", "tree_size", "hashes": [base64…]}``."""
    _check_size(index, "leaf index")
    _check_size(size, "tree size")
    return {"leaf_index": index, "tree_size": size, "hashes": _encode_hashes(hashes)}


def consistency_proof_json(first: int, second: int, hashes: Sequence[bytes]) -> dict[str, Any]:
    """``{"first", "second", "hashes": [base64…]}``."""
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    return {"first": first, "second": second, "hashes": _encode_hashes(hashes)}


def _b64_hash(value: object, what: str) -> bytes:
    """Strict standard base64 of exactly 32 bytes; non-canonical encodings are refused."""
    return _check_hash(b64.decode(value, what, ProofError), what)


def _field(obj: Mapping[str, object], key: str, kind: str) -> object:
    if key not in obj:
        raise ProofError(f"{kind} is missing {key!r}")
    return obj[key]


def _parse_hashes(obj: Mapping[str, object], kind: str) -> tuple[bytes, ...]:
    hashes = _field(obj, "hashes", kind)
    if not isinstance(hashes, list | tuple):
        raise ProofError(f"{kind} 'hashes' must be a list, got {type(hashes).__name__}")
    return tuple(_b64_hash(h, f"{kind} hash #{i}") for i, h in enumerate(hashes))


def _as_mapping(obj: object, kind: str) -> Mapping[str, object]:
    if not isinstance(obj, Mapping):
        raise ProofError(f"{kind} must be a JSON object, got {type(obj).__name__}")
    return obj


def parse_inclusion_proof(obj: object) -> InclusionProof:
    """Parse and shape-check an inclusion proof object (unknown keys are ignored)."""
    kind = "inclusion proof"
    m = _as_mapping(obj, kind)
    index = _check_size(_field(m, "leaf_index", kind), f"{kind} 'leaf_index'")
    size = _check_size(_field(m, "tree_size", kind), f"{kind} 'tree_size'")
    if index >= size:
        raise ProofError(f"{kind}: leaf index {index} is not in a tree of size {size}")
    return InclusionProof(leaf_index=index, tree_size=size, hashes=_parse_hashes(m, kind))


def parse_consistency_proof(obj: object) -> ConsistencyProof:
    """Parse and shape-check a consistency proof object (unknown keys are ignored)."""
    kind = "consistency proof"
    m = _as_mapping(obj, kind)
    first = _check_size(_field(m, "first", kind), f"{kind} 'first'")
    second = _check_size(_field(m, "second", kind), f"{kind} 'second'")
    if first > second:
        raise ProofError(f"{kind}: first size {first} is larger than second size {second}")
    return ConsistencyProof(first=first, second=second, hashes=_parse_hashes(m, kind))
