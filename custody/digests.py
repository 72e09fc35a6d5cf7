"""Streaming multi-algorithm hashing: every digest of a file in one pass, in fixed memory.

BLAKE3 (the content address) and SHA-256 (what imaging tools and courts print) are always
computed; MD5, SHA-1 and SM3 on demand. Each algorithm runs in its own thread per chunk:
blake3 and hashlib release the GIL on large buffers, so a multi-GB image costs the time of
the slowest algorithm, not the sum. SM3 comes from hashlib where the system OpenSSL has it,
else from ``cryptography`` (a base dependency, with its own OpenSSL), so a court's machine
can recompute an SM3 check value either way.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import blake3 as _blake3
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from custody.errors import InvalidDigest, UnknownAlgorithm

ALWAYS: tuple[str, ...] = ("blake3", "sha256")
OPTIONAL: tuple[str, ...] = ("md5", "sha1", "sm3")
SUPPORTED: tuple[str, ...] = ALWAYS + OPTIONAL
DIGEST_HEX_LENGTH: dict[str, int] = {"blake3": 64, "sha256": 64, "sha1": 40, "md5": 32, "sm3": 64}
CHUNK_SIZE = 1024 * 1024
# Below this a thread hand-off costs more than it saves.
PARALLEL_THRESHOLD = 128 * 1024
_HEX = re.compile(r"^[0-9a-f]+$")


class _Hash(Protocol):
    def update(self, data: bytes | memoryview, /) -> object: ...
    def hexdigest(self) -> str: ...


class CryptographySM3:
    """``cryptography``'s SM3 behind the hashlib interface (its digest does not finalize)."""

    name = "sm3"
    digest_size = 32
    block_size = 64

    def __init__(self) -> None:
        try:
            self._hash = hashes.Hash(hashes.SM3())
        except UnsupportedAlgorithm as e:
            raise UnknownAlgorithm(
                "SM3 is not available here: neither hashlib nor cryptography's OpenSSL "
                "offers it; install a cryptography wheel built with SM3"
            ) from e

    def update(self, data: bytes | memoryview, /) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()


def _new(algorithm: str) -> _Hash:
    if algorithm == "blake3":
        return _blake3.blake3()
    if algorithm == "sm3":
        try:
            return hashlib.new("sm3")
        except ValueError:  # this OpenSSL has no SM3: cryptography's
            return CryptographySM3()
    return hashlib.new(algorithm)


def parse_algorithms(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """Turn ``"md5,sm3"`` or ``["md5"]`` into the full ordered set, always with BLAKE3 + SHA-256."""
    names: Iterable[str]
    if spec is None:
        names = ()
    elif isinstance(spec, str):
        names = (part for part in spec.split(","))
    else:
        names = spec
    wanted = set(ALWAYS)
    for raw in names:
        name = raw.strip().lower().replace("-", "")
        if not name:
            continue
        if name not in SUPPORTED:
            raise UnknownAlgorithm(
                f"unknown digest algorithm {raw!r}; choose from {', '.join(SUPPORTED)}"
            )
        wanted.add(name)
    return tuple(a for a in SUPPORTED if a in wanted)


def normalize_declared(algorithm: str, value: str) -> str:
    """Validate a digest declared by an imaging tool; return it as lowercase hex."""
    algorithm = algorithm.strip().lower().replace("-", "")
    if algorithm not in SUPPORTED:
        raise UnknownAlgorithm(
            f"unknown digest algorithm {algorithm!r}; choose from {', '.join(SUPPORTED)}"
        )
    if not isinstance(value, str):
        raise InvalidDigest(f"declared {algorithm} must be a hex string")
    hex_value = value.strip().lower()
    expected = DIGEST_HEX_LENGTH[algorithm]
    if not _HEX.match(hex_value):
        raise InvalidDigest(
            f"declared {algorithm} {value!r} is not hexadecimal; "
            f"give the {expected}-character hex value your imaging tool printed"
        )
    if len(hex_value) != expected:
        raise InvalidDigest(
            f"declared {algorithm} has {len(hex_value)} hex characters, expected {expected}; "
            "check that you copied the whole value and the right algorithm"
        )
    return hex_value


class MultiHasher:
    """Feed bytes once, get every requested digest; memory is one chunk at most."""

    def __init__(self, algorithms: Iterable[str] | str | None = None) -> None:
        self.algorithms = parse_algorithms(algorithms)
        self._hashes: dict[str, _Hash] = {a: _new(a) for a in self.algorithms}
        self._pool: ThreadPoolExecutor | None = None
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        self.size += len(view)
        hashes = list(self._hashes.values())
        if len(view) < PARALLEL_THRESHOLD or len(hashes) == 1:
            for h in hashes:
                h.update(view)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=len(hashes) - 1, thread_name_prefix="digest"
            )
        futures = [self._pool.submit(h.update, view) for h in hashes[1:]]
        hashes[0].update(view)
        for f in futures:
            f.result()

    def hexdigests(self) -> dict[str, str]:
        """The digests so far, keyed by algorithm name, lowercase hex."""
        return {a: h.hexdigest() for a, h in self._hashes.items()}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> MultiHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, kw_only=True)
class FileDigests:
    """Digests of one stream or file, plus its size in bytes."""

    size: int
    digests: dict[str, str]


def hash_stream(
    stream: BinaryIO, algorithms: Iterable[str] | str | None = None, *, chunk_size: int = CHUNK_SIZE
) -> FileDigests:
    """Hash a readable binary stream to its end in one pass."""
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    with MultiHasher(algorithms) as hasher:
        while True:
            n = stream.readinto(view)  # type: ignore[attr-defined]
            if not n:
                break
            hasher.update(view[:n])
        return FileDigests(size=hasher.size, digests=hasher.hexdigests())


def hash_file(
    path: str | os.PathLike[str], algorithms: Iterable[str] | str | None = None
) -> FileDigests:
    """Hash a file on disk in one pass."""
    with Path(path).open("rb", buffering=0) as f:
        return hash_stream(f, algorithms)


def compare_declared(
    declared: dict[str, str], computed: dict[str, str]
) -> list[tuple[str, str, str]]:
    """Return ``(algorithm, declared, computed)`` for every declared digest that differs."""
    return [
        (algo, value, computed.get(algo, "(not computed)"))
        for algo, value in sorted(declared.items())
        if computed.get(algo) != value
    ]


def required_algorithms(
    extra: Sequence[str] | str | None, declared: Iterable[str]
) -> tuple[str, ...]:
    """The configured extras plus whatever the caller declared a value for."""
    base = list(parse_algorithms(extra))
    return parse_algorithms([*base, *declared])
