"""Digest throughput: custody.digests.hash_file against ``openssl dgst -sha256``.

    python -m bench.bench_digests [--size-mib N] [--repeat R] [--dir DIR]

Writes a temporary file of N MiB (default 512) of random bytes, reads it once to warm the
page cache, then times (best of R runs, wall clock):

- ``openssl dgst -sha256 FILE`` in a subprocess: the reference;
- ``hash_file(FILE)`` with the default algorithms (BLAKE3 + SHA-256);
- ``hash_file(FILE, all five)`` (BLAKE3, SHA-256, MD5, SHA-1, SM3).

Prints a markdown table (MB = 10^6 bytes) with the throughput ratio ours / openssl, the peak
RSS of this process, and appends the table to bench/results.md under "## digests".
A benchmark, not a test: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from custody.digests import SUPPORTED, hash_file

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADING = "## digests"
WRITE_PIECE = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Row:
    what: str
    algorithms: str
    seconds: float
    reference: bool = False


def write_random_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        remaining = size
        while remaining:
            piece = os.urandom(min(WRITE_PIECE, remaining))
            f.write(piece)
            remaining -= len(piece)
        f.flush()
        os.fsync(f.fileno())


def warm_cache(path: Path) -> None:
    with path.open("rb", buffering=0) as f:
        buffer = bytearray(WRITE_PIECE)
        while f.readinto(buffer):
            pass


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def openssl_sha256(openssl: str, path: Path) -> str:
    out = subprocess.run(
        [openssl, "dgst", "-sha256", str(path)], check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"=\s*([0-9a-f]{64})\s*$", out.strip())
    return match.group(1) if match else ""


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def render(rows: list[Row], size: int) -> str:
    reference = next((row.seconds for row in rows if row.reference), None)
    lines = [
        "| run | algorithms | seconds | MB/s | ratio ours ÷ openssl (MB/s) |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        rate = size / row.seconds / 1e6
        if row.reference:
            ratio = "1.00 (reference)"
        elif reference is None:
            ratio = "n/a"
        else:
            ratio = f"{reference / row.seconds:.2f}"  # (size/ours) / (size/openssl)
        cells = [row.what, row.algorithms, f"{row.seconds:.3f}", f"{rate:.0f}", ratio]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def append_results(block: str, results: Path = RESULTS) -> None:
    """Add ``block`` at the end of the "## digests" section, creating the section if needed."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == HEADING)
    except StopIteration:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        section = "\n".join(lines[start:end]).rstrip("\n")
        rest = "\n".join(lines[end:])
        text = "\n".join(lines[:start])
        text = (text + "\n" if text else "") + f"{section}\n\n{block}\n"
        if rest:
            text += f"\n{rest}\n"
    results.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_digests", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=512, help="file size in MiB (512)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; best kept")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the temp file")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.md")
    args = parser.parse_args(argv)
    size = args.size_mib * 1024 * 1024
    openssl = shutil.which("openssl")

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-digests-") as tmp:
        path = Path(tmp) / "random.bin"
        print(f"writing {args.size_mib} MiB of random data to {path} …", flush=True)
        write_random_file(path, size)
        warm_cache(path)
        rss_before = peak_rss_mib()

        rows: list[Row] = []
        openssl_hex = ""
        if openssl:
            seconds, openssl_hex = best_of(args.repeat, lambda: openssl_sha256(openssl, path))
            rows.append(
                Row(
                    what="openssl dgst -sha256",
                    algorithms="sha256",
                    seconds=seconds,
                    reference=True,
                )
            )
        else:
            print("openssl not found on PATH: no reference row", file=sys.stderr)

        seconds, default = best_of(args.repeat, lambda: hash_file(path))
        rows.append(Row(what="hash_file (default)", algorithms="blake3+sha256", seconds=seconds))
        seconds, _ = best_of(args.repeat, lambda: hash_file(path, SUPPORTED))
        rows.append(Row(what="hash_file (all)", algorithms="+".join(SUPPORTED), seconds=seconds))

    if openssl_hex and openssl_hex != default.digests["sha256"]:
        print(
            f"WARNING: sha256 differs: openssl {openssl_hex}, ours {default.digests['sha256']}",
            file=sys.stderr,
        )

    rss = peak_rss_mib()
    table = render(rows, size)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    openssl_version = (
        subprocess.run([openssl, "version"], capture_output=True, text=True).stdout.strip()
        if openssl
        else "none"
    )
    block = "\n".join(
        [
            f"### {stamp}: {args.size_mib} MiB, best of {args.repeat}",
            "",
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{openssl_version}. Page cache warm.",
            "",
            table,
            "",
            f"Peak RSS of the Python process: {rss:.1f} MiB "
            f"({rss_before:.1f} MiB before any hashing started).",
        ]
    )
    print()
    print(block)
    if not args.no_save:
        append_results(block)
        print(f"\nappended to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
