"""RFC 9162 Merkle trees: the transparency-dev vectors, naive references and properties."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.errors import ProofError, VerificationError
from custody.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ConsistencyProof,
    InclusionProof,
    MemoryTree,
    completed_nodes,
    consistency_proof,
    consistency_proof_json,
    inclusion_proof,
    inclusion_proof_json,
    leaf_hash,
    node_hash,
    parse_consistency_proof,
    parse_inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- test vectors ------------------------------------------------------------------------


# Vendored in the repository (tests/data/merkle, Apache-2.0, see its NOTICE): a fresh clone
# runs every vector with nothing beside it.
VECTORS = Path(__file__).resolve().parents[1] / "data" / "merkle"


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _vector_id(path: Path) -> str:
    return path.relative_to(VECTORS).with_suffix("").as_posix()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(data: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in data.get("proof") or []]


INCLUSION_FILES = _vector_files("inclusion")
CONSISTENCY_FILES = _vector_files("consistency")

# The classic Certificate Transparency leaves the vectors are built from.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]


def test_vectors_are_all_there() -> None:
    # README: 98 inclusion and 97 consistency cases; a missing folder must not pass silently.
    assert len(INCLUSION_FILES) == 98, f"inclusion vectors not found under {VECTORS}"
    assert len(CONSISTENCY_FILES) == 97, f"consistency vectors not found under {VECTORS}"


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_vector_id)
def test_inclusion_vector(path: Path) -> None:
    data = _load(path)

    def run() -> None:
        verify_inclusion(
            leaf_hash=_b64(data.get("leafHash")),
            index=data["leafIdx"],
            size=data["treeSize"],
            proof=_proof(data),
            root=_b64(data.get("root")),
        )

    if data["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_vector_id)
def test_consistency_vector(path: Path) -> None:
    data = _load(path)

    def run() -> None:
        verify_consistency(
            first=data["size1"],
            second=data["size2"],
            proof=_proof(data),
            first_root=_b64(data.get("root1")),
            second_root=_b64(data.get("root2")),
        )

    if data["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


HAPPY_INCLUSION = [p for p in INCLUSION_FILES if p.name == "happy-path.json"]
HAPPY_CONSISTENCY = [p for p in CONSISTENCY_FILES if p.name == "happy-path.json"]


@pytest.fixture(scope="module")
def ct_tree() -> MemoryTree:
    return MemoryTree(leaf_hash(leaf) for leaf in CT_LEAVES)


def test_ct_tree_known_root(ct_tree: MemoryTree) -> None:
    # The well-known RFC 6962 root of the eight CT leaves.
    assert ct_tree.root().hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@pytest.mark.parametrize("path", HAPPY_INCLUSION, ids=_vector_id)
def test_generated_inclusion_proof_matches_vector(ct_tree: MemoryTree, path: Path) -> None:
    data = _load(path)
    index, size = data["leafIdx"], data["treeSize"]
    assert ct_tree.source(0, index) == _b64(data["leafHash"])
    assert ct_tree.root(size) == _b64(data["root"])
    assert ct_tree.inclusion_proof(index, size) == _proof(data)


@pytest.mark.parametrize("path", HAPPY_CONSISTENCY, ids=_vector_id)
def test_generated_consistency_proof_matches_vector(ct_tree: MemoryTree, path: Path) -> None:
    data = _load(path)
    first, second = data["size1"], data["size2"]
    assert ct_tree.root(first) == _b64(data["root1"])
    assert ct_tree.root(second) == _b64(data["root2"])
    assert ct_tree.consistency_proof(first, second) == _proof(data)


def test_happy_vectors_cover_both_kinds() -> None:
    assert len(HAPPY_INCLUSION) >= 5 and len(HAPPY_CONSISTENCY) >= 5


# --- naive references, written straight from RFC 9162 §2.1 over the leaf list -------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _k(len(leaves))
    return node_hash(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def naive_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, leaves[:k], b), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    # Distinct leaves: with duplicates a proof for one index can honestly verify at another.
    return [salt + i.to_bytes(4, "big") for i in range(n)]


def test_root_and_proofs_match_naive_reference_exhaustively() -> None:
    leaves = _leaves(33)
    tree = MemoryTree(leaf_hash(d) for d in leaves)
    for size in range(34):
        assert tree.root(size) == naive_mth(leaves[:size])
        for index in range(size):
            assert tree.inclusion_proof(index, size) == naive_path(index, leaves[:size])
        for first in range(1, size):
            got = tree.consistency_proof(first, size)
            assert got == naive_subproof(first, leaves[:size], True)


# --- hypothesis properties ------------------------------------------------------------

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], MemoryTree]:
    n = draw(st.integers(min_value=1, max_value=300))
    salt = draw(st.binary(max_size=8))
    leaves = _leaves(n, salt)
    return leaves, MemoryTree(leaf_hash(d) for d in leaves)


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


@PROPS
@given(tree_and_sizes(), st.data())
def test_property_inclusion(built: tuple[list[bytes], MemoryTree], data: st.DataObject) -> None:
    leaves, tree = built
    size = data.draw(st.integers(min_value=1, max_value=tree.size), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    r = tree.root(size)
    leaf = leaf_hash(leaves[index])
    verify_inclusion(leaf_hash=leaf, index=index, size=size, proof=proof, root=r)

    if proof:
        which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="hash")
        bit = data.draw(st.integers(min_value=0, max_value=8 * HASH_SIZE - 1), label="bit")
        bad = list(proof)
        bad[which] = _flip(bad[which], bit)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=leaf, index=index, size=size, proof=bad, root=r)
    if size > 1:
        other = data.draw(
            st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index),
            label="other index",
        )
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=leaf, index=other, size=size, proof=proof, root=r)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=leaf, index=size, size=size, proof=proof, root=r)


@PROPS
@given(tree_and_sizes(), st.data())
def test_property_consistency(built: tuple[list[bytes], MemoryTree], data: st.DataObject) -> None:
    _, tree = built
    second = data.draw(st.integers(min_value=1, max_value=tree.size), label="second")
    first = data.draw(st.integers(min_value=1, max_value=second), label="first")
    proof = tree.consistency_proof(first, second)
    r1, r2 = tree.root(first), tree.root(second)
    verify_consistency(first=first, second=second, proof=proof, first_root=r1, second_root=r2)

    if proof:
        which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="hash")
        bit = data.draw(st.integers(min_value=0, max_value=8 * HASH_SIZE - 1), label="bit")
        bad = list(proof)
        bad[which] = _flip(bad[which], bit)
        with pytest.raises(ProofError):
            verify_consistency(first=first, second=second, proof=bad, first_root=r1, second_root=r2)
    if first != second:
        with pytest.raises(ProofError):
            verify_consistency(
                first=first, second=second, proof=proof, first_root=r2, second_root=r1
            )


@PROPS
@given(st.lists(st.binary(max_size=40), max_size=300))
def test_property_root_equals_naive_mth(leaves: list[bytes]) -> None:
    tree = MemoryTree(leaf_hash(d) for d in leaves)
    assert tree.root() == naive_mth(leaves)
    assert root(len(leaves), tree.source) == naive_mth(leaves)


def test_every_single_bit_flip_is_rejected() -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(13))
    proof, r = tree.inclusion_proof(6, 13), tree.root(13)
    leaf = tree.source(0, 6)
    cproof = tree.consistency_proof(5, 13)
    r5 = tree.root(5)
    for which in range(len(proof)):
        for bit in range(8 * HASH_SIZE):
            bad = list(proof)
            bad[which] = _flip(bad[which], bit)
            with pytest.raises(ProofError):
                verify_inclusion(leaf_hash=leaf, index=6, size=13, proof=bad, root=r)
    for which in range(len(cproof)):
        for bit in range(8 * HASH_SIZE):
            bad = list(cproof)
            bad[which] = _flip(bad[which], bit)
            with pytest.raises(ProofError):
                verify_consistency(first=5, second=13, proof=bad, first_root=r5, second_root=r)


# --- O(log n) source reads at a million leaves -----------------------------------------

BIG = 10**6


@pytest.fixture(scope="module")
def big_tree() -> MemoryTree:
    # Stored nodes exactly as the database will hold them: built by completed_nodes.
    return MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(BIG))


class Counting:
    def __init__(self, source: Callable[[int, int], bytes]) -> None:
        self.source = source
        self.calls = 0

    def __call__(self, level: int, index: int) -> bytes:
        self.calls += 1
        return self.source(level, index)


@pytest.mark.parametrize(
    ("index", "size"),
    [(0, BIG), (BIG - 1, BIG), (777_777, BIG), (123_456, 654_321), (2**19, 2**19 + 1)],
)
def test_inclusion_at_a_million_reads_few_nodes(
    big_tree: MemoryTree, index: int, size: int
) -> None:
    counting = Counting(big_tree.source)
    proof = inclusion_proof(index, size, counting)
    assert counting.calls < 200
    counting.calls = 0
    r = root(size, counting)
    assert counting.calls < 64
    verify_inclusion(
        leaf_hash=big_tree.source(0, index), index=index, size=size, proof=proof, root=r
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [(1, BIG), (BIG - 1, BIG), (123_457, BIG - 1), (2**19, BIG), (333_333, 999_999), (7, 8)],
)
def test_consistency_at_a_million_reads_few_nodes(
    big_tree: MemoryTree, first: int, second: int
) -> None:
    counting = Counting(big_tree.source)
    proof = consistency_proof(first, second, counting)
    assert counting.calls < 200
    verify_consistency(
        first=first,
        second=second,
        proof=proof,
        first_root=root(first, counting),
        second_root=root(second, counting),
    )


# --- completed_nodes: exactly the complete subtrees, O(log n) reads -------------------------


def test_completed_nodes_are_exactly_the_complete_subtrees() -> None:
    leaves = _leaves(70)
    stored: dict[tuple[int, int], bytes] = {}
    reads: list[int] = []

    def source(level: int, index: int) -> bytes:
        reads[-1] += 1
        return stored[(level, index)]

    for i, d in enumerate(leaves):
        reads.append(0)
        rows = completed_nodes(i, leaf_hash(d), source)
        assert rows[0] == (0, i, leaf_hash(d))
        for level, idx, value in rows:
            assert (level, idx) not in stored
            stored[(level, idx)] = value
        assert reads[-1] == len(rows) - 1 <= (i + 1).bit_length()

    expected = {}
    for level in range(7):
        width = 1 << level
        for idx in range(len(leaves) // width):
            expected[(level, idx)] = naive_mth(leaves[idx * width : (idx + 1) * width])
    assert stored == expected


def test_completed_nodes_rejects_bad_leaf() -> None:
    with pytest.raises(ProofError, match="32 bytes"):
        completed_nodes(0, b"short", lambda level, index: b"")


def test_corrupt_stored_node_is_reported() -> None:
    with pytest.raises(ProofError, match="level 1, index 0"):
        root(2, lambda level, index: b"x")


# --- argument validation ------------------------------------------------------------------


def test_empty_tree_root() -> None:
    assert root(0, MemoryTree().source) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert MemoryTree().root() == EMPTY_ROOT


def test_hash_functions() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


@pytest.mark.parametrize(("index", "size"), [(0, 0), (5, 5), (6, 5), (-1, 5)])
def test_inclusion_proof_bad_arguments(index: int, size: int) -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(5))
    with pytest.raises(ProofError):
        inclusion_proof(index, size, tree.source)


def test_consistency_proof_arguments() -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(5))
    assert consistency_proof(3, 3, tree.source) == []
    assert consistency_proof(0, 0, tree.source) == []
    with pytest.raises(ProofError, match="larger"):
        consistency_proof(4, 3, tree.source)
    with pytest.raises(ProofError, match="empty tree"):
        consistency_proof(0, 3, tree.source)
    with pytest.raises(ProofError):
        consistency_proof(-1, 3, tree.source)


def test_memory_tree_refuses_sizes_beyond_its_own() -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(5))
    with pytest.raises(ProofError, match="beyond"):
        tree.root(6)
    with pytest.raises(ProofError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(ProofError):
        tree.consistency_proof(2, 6)
    with pytest.raises(ProofError, match="no complete subtree"):
        tree.source(3, 0)
    with pytest.raises(ProofError):
        tree.source(0, -1)
    assert tree.append(leaf_hash(b"x")) == 5 and tree.size == 6


def test_verify_inclusion_rejects_bad_lengths_and_sizes() -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(6))
    leaf, proof, r = tree.source(0, 2), tree.inclusion_proof(2, 6), tree.root(6)
    ok: dict[str, Any] = {"leaf_hash": leaf, "index": 2, "size": 6, "proof": proof, "root": r}
    verify_inclusion(**ok)
    # Sizes 6, 7 and 8 share the proof shape for leaf 2; only the caller's trusted root binds
    # the size, which is why a checkpoint signs (size, root) together.
    verify_inclusion(**{**ok, "size": 7})
    changes: list[dict[str, Any]] = [
        {"leaf_hash": leaf[:31]},
        {"leaf_hash": leaf + b"\x00"},
        {"root": r[:31]},
        {"root": b""},
        {"proof": [proof[0][:31], *proof[1:]]},
        {"proof": [*proof, proof[0]]},
        {"proof": proof[:-1]},
        {"proof": []},
        {"index": 6},
        {"index": -1},
        {"size": 0},
        {"size": 3},
        {"index": True},
    ]
    for change in changes:
        with pytest.raises(ProofError):
            verify_inclusion(**{**ok, **change})


def test_verify_consistency_edge_cases() -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(6))
    r3, r6 = tree.root(3), tree.root(6)
    proof = tree.consistency_proof(3, 6)
    verify_consistency(first=3, second=6, proof=proof, first_root=r3, second_root=r6)
    verify_consistency(first=6, second=6, proof=[], first_root=r6, second_root=r6)
    verify_consistency(first=0, second=0, proof=[], first_root=EMPTY_ROOT, second_root=EMPTY_ROOT)
    bad_cases: list[dict[str, Any]] = [
        {"first": 6, "second": 6, "proof": [r6], "first_root": r6, "second_root": r6},
        {"first": 6, "second": 6, "proof": [], "first_root": r6, "second_root": r3},
        {"first": 0, "second": 0, "proof": [], "first_root": r6, "second_root": r6},
        {"first": 0, "second": 6, "proof": [], "first_root": EMPTY_ROOT, "second_root": r6},
        {"first": 6, "second": 3, "proof": proof, "first_root": r6, "second_root": r3},
        {"first": 3, "second": 6, "proof": [], "first_root": r3, "second_root": r6},
        {"first": 3, "second": 6, "proof": proof[:-1], "first_root": r3, "second_root": r6},
        {"first": 3, "second": 6, "proof": [*proof, r3], "first_root": r3, "second_root": r6},
        {"first": 3, "second": 6, "proof": proof, "first_root": r3[:16], "second_root": r6},
        {"first": 3, "second": 6, "proof": proof, "first_root": r3, "second_root": r6 + b"!"},
        {"first": 3, "second": 4, "proof": proof, "first_root": r3, "second_root": r6},
    ]
    for case in bad_cases:
        with pytest.raises(ProofError):
            verify_consistency(**case)


def test_proof_error_is_a_verification_error() -> None:
    assert issubclass(ProofError, VerificationError)


# --- JSON forms ------------------------------------------------------------------------------


def test_proof_json_round_trip() -> None:
    tree = MemoryTree(leaf_hash(d) for d in _leaves(11))
    hashes = tree.inclusion_proof(4, 11)
    obj = inclusion_proof_json(4, 11, hashes)
    assert obj == {
        "leaf_index": 4,
        "tree_size": 11,
        "hashes": [base64.b64encode(h).decode() for h in hashes],
    }
    parsed = parse_inclusion_proof(json.loads(json.dumps(obj)))
    assert parsed == InclusionProof(leaf_index=4, tree_size=11, hashes=tuple(hashes))
    assert parsed.to_json() == obj
    parsed.verify(leaf_hash=tree.source(0, 4), root=tree.root())

    chashes = tree.consistency_proof(3, 11)
    cobj = consistency_proof_json(3, 11, chashes)
    assert cobj == {
        "first": 3,
        "second": 11,
        "hashes": [base64.b64encode(h).decode() for h in chashes],
    }
    cparsed = parse_consistency_proof(json.loads(json.dumps(cobj)))
    assert cparsed == ConsistencyProof(first=3, second=11, hashes=tuple(chashes))
    assert cparsed.to_json() == cobj
    cparsed.verify(first_root=tree.root(3), second_root=tree.root(11))
    with pytest.raises(ProofError):
        cparsed.verify(first_root=tree.root(4), second_root=tree.root(11))


def test_proof_json_refuses_bad_hashes() -> None:
    with pytest.raises(ProofError):
        inclusion_proof_json(0, 2, [b"short"])
    with pytest.raises(ProofError):
        consistency_proof_json(1, 2, [b"x" * 33])


GOOD_B64 = base64.b64encode(b"\x07" * 32).decode()


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        "proof",
        {},
        {"tree_size": 2, "hashes": []},
        {"leaf_index": 0, "hashes": []},
        {"leaf_index": 0, "tree_size": 2},
        {"leaf_index": "0", "tree_size": 2, "hashes": []},
        {"leaf_index": 0, "tree_size": 2.0, "hashes": []},
        {"leaf_index": True, "tree_size": 2, "hashes": []},
        {"leaf_index": -1, "tree_size": 2, "hashes": []},
        {"leaf_index": 2, "tree_size": 2, "hashes": []},
        {"leaf_index": 0, "tree_size": 2, "hashes": GOOD_B64},
        {"leaf_index": 0, "tree_size": 2, "hashes": [None]},
        {"leaf_index": 0, "tree_size": 2, "hashes": [GOOD_B64[:-1]]},
        {"leaf_index": 0, "tree_size": 2, "hashes": [GOOD_B64 + "\n"]},
        {"leaf_index": 0, "tree_size": 2, "hashes": ["!" + GOOD_B64[1:]]},
        {"leaf_index": 0, "tree_size": 2, "hashes": [base64.b64encode(b"x" * 31).decode()]},
        {"leaf_index": 0, "tree_size": 2, "hashes": [GOOD_B64[:-2] + "9="]},  # non-canonical
        {"leaf_index": 0, "tree_size": 2, "hashes": [GOOD_B64.replace("=", "")]},
        {"leaf_index": 0, "tree_size": 2, "hashes": ["Bwc" + "é" * 40 + "="]},
    ],
)
def test_parse_inclusion_proof_rejects(obj: object) -> None:
    with pytest.raises(ProofError):
        parse_inclusion_proof(obj)


@pytest.mark.parametrize(
    "obj",
    [
        None,
        {"second": 2, "hashes": []},
        {"first": 1, "hashes": []},
        {"first": 1, "second": 2},
        {"first": 3, "second": 2, "hashes": []},
        {"first": False, "second": 2, "hashes": []},
        {"first": 1, "second": "2", "hashes": []},
        {"first": 1, "second": 2, "hashes": [GOOD_B64, 5]},
        {"first": 1, "second": 2, "hashes": ["%%%%"]},
    ],
)
def test_parse_consistency_proof_rejects(obj: object) -> None:
    with pytest.raises(ProofError):
        parse_consistency_proof(obj)


def test_parse_accepts_unknown_keys() -> None:
    parsed = parse_inclusion_proof(
        {"leaf_index": 0, "tree_size": 1, "hashes": [], "note": "extra keys are ignored"}
    )
    assert parsed.hashes == ()
