"""Media hashing of an E01: custody.images.ewf_reader against ``ewfverify`` on the same file.

    python -m bench.bench_ewf [--size-mib N] [--repeat R] [--dir DIR]

Makes a disk-like raw image of N MiB (default 1024: zero runs, text, random data), acquires
it with ``ewfacquire`` (deflate fast, one segment), then times (best of R, wall clock):

- ``ewfverify -q IMG.E01`` (MD5 only, what a lab runs): the reference;
- ``ewfverify -q -d sha1 IMG.E01`` (MD5 + SHA-1, the hashes an E01 stores);
- ``read_ewf`` with what intake computes: BLAKE3 + SHA-256 + the stored MD5 (and SHA-1).

Prints the throughput ratio ours / ewfverify (target >= 0.8) and appends the table to
bench/results.md under "## ewf". A benchmark, not a test: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from custody.images import ewf_reader

RESULTS = Path(__file__).with_name("results.md")


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make_image(folder: Path, size_mib: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.images.ewfimages import make_raw

    raw = make_raw(folder / "disk.raw", size_mib * 1024 * 1024)
    subprocess.run(
        ["ewfacquire", "-u", "-q", "-t", str(folder / "img"), "-c", "deflate:fast",
         "-S", "7GiB", "-d", "sha1", str(raw)],
        check=True, capture_output=True,
    )  # fmt: skip
    raw.unlink()
    return folder / "img.E01"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if shutil.which("ewfacquire") is None or not ewf_reader.available():
        print("ewf: skipped (needs ewf-tools and libewf-python)")
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        e01 = make_image(Path(tmp), args.size_mib)
        size = args.size_mib * 1024 * 1024
        ref = best(lambda: subprocess.run(["ewfverify", "-q", str(e01)], check=True,
                                          capture_output=True), args.repeat)  # fmt: skip
        with_sha1 = ["ewfverify", "-q", "-d", "sha1", str(e01)]
        ref_sha1 = best(
            lambda: subprocess.run(with_sha1, check=True, capture_output=True), args.repeat
        )
        ours = best(lambda: ewf_reader.read_ewf(lambda: [str(e01)], ["blake3", "sha256"]),
                    args.repeat)  # fmt: skip
        mb = size / 1e6
        rows = [
            ("ewfverify (MD5)", ref, 1.0),
            ("ewfverify -d sha1 (MD5, SHA-1)", ref_sha1, ref / ref_sha1),
            ("read_ewf (BLAKE3, SHA-256, MD5, SHA-1)", ours, ref / ours),
        ]
        table = [
            f"E01 of {args.size_mib} MiB media (deflate fast), libewf-python "
            f"{ewf_reader.libewf_version()}, {platform.machine()}, "
            f"{dt.date.today().isoformat()}",
            "",
            "| run | seconds | MB/s | ratio to ewfverify |",
            "| --- | ---: | ---: | ---: |",
            *(f"| {name} | {t:.2f} | {mb / t:.0f} | {r:.2f} |" for name, t, r in rows),
            "",
            f"ours vs ewfverify computing the same stored digests (MD5, SHA-1): "
            f"{ref_sha1 / ours:.2f}",
        ]
        print("\n".join(table))
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write("\n## ewf\n\n" + "\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
