"""What the issue-15 benchmarks share: the result row, timing, test files, the durable limit."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One line of the ``make bench`` table: a measured value beside its target."""

    name: str
    value: str
    target: str
    ok: bool | None  # None: not measured (skipped)
    detail: str = ""

    @property
    def verdict(self) -> str:
        return "—" if self.ok is None else "PASS" if self.ok else "MISS"


def render(rows: Sequence[Row]) -> str:
    lines = ["| measure | value | target | result | detail |", "|---|---:|---|---|---|"]
    lines += [f"| {r.name} | {r.value} | {r.target} | {r.verdict} | {r.detail} |" for r in rows]
    return "\n".join(lines)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs: the one least disturbed by other work."""
    return min(timed(fn) for _ in range(max(1, repeat)))


def run(cmd: Sequence[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)


def random_file(path: Path, size_mib: int) -> Path:
    with path.open("wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MIB))
    return path


def touch_content(path: Path) -> None:
    """New content (first 16 bytes), so the next intake of ``path`` is really stored."""
    with path.open("r+b") as f:
        f.write(os.urandom(16))


def openssl_sha256(path: Path) -> None:
    run(["openssl", "dgst", "-sha256", str(path)])


def dd_fsync(path: Path) -> None:
    """A durable copy of the file: what the disk allows for a durable intake."""
    out = path.with_name(path.name + ".dd-copy")
    run(["dd", f"if={path}", f"of={out}", "bs=4M", "conv=fsync", "status=none"])
    out.unlink()


@dataclass(frozen=True)
class Limit:
    """The durable-write limit: the slower of hashing (openssl) and writing (dd + fsync)."""

    openssl: float
    dd: float

    @property
    def seconds(self) -> float:
        return max(self.openssl, self.dd)

    def describe(self) -> str:
        return f"limit {self.seconds:.2f} s (openssl {self.openssl:.2f} s, dd {self.dd:.2f} s)"


def durable_limit(path: Path, repeat: int) -> Limit:
    return Limit(best(lambda: openssl_sha256(path), repeat), best(lambda: dd_fsync(path), repeat))


def ratio_row(name: str, ratio: float, minimum: float, detail: str) -> Row:
    return Row(name, f"{ratio:.2f}", f"≥ {minimum}", ratio >= minimum, detail)
