"""Media hashing of an E01: custody.images.ewf_reader against ``ewfverify`` on the same file.

    python -m bench.bench_ewf [--size-mib N] [--repeat R] [--dir DIR]

Makes a disk-like raw image of N MiB (default 1024: zero runs, text, random data), acquires
it with ``ewfacquire`` (deflate fast, one segment, MD5 + SHA-1 stored), then times (best of
R, wall clock) ``read_ewf`` with what intake computes (BLAKE3 + SHA-256 + the stored MD5
and SHA-1) ÷ ``ewfverify -q IMG.E01`` (MD5 only, what a lab runs); target ≥ 0.8.

The detail splits ours into stages: libewf decompression alone (the reader's block loop,
no hashing), the four digests alone over the raw media, and ``ewfverify -d sha1``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import MIB, Row, best, ratio_row, render, run
from custody.digests import hash_file
from custody.images import ewf_pipe, ewf_reader

ALL = ["blake3", "sha256", "md5", "sha1"]


def make_image(folder: Path, size_mib: int) -> tuple[Path, float]:
    """The E01, and how long hashing the raw media with all four digests took."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.images.ewfimages import make_raw

    raw = make_raw(folder / "disk.raw", size_mib * MIB)
    subprocess.run(
        ["ewfacquire", "-u", "-q", "-t", str(folder / "img"), "-c", "deflate:fast",
         "-S", "7GiB", "-d", "sha1", str(raw)],
        check=True, capture_output=True,
    )  # fmt: skip
    hashing = best(lambda: hash_file(raw, ALL), 1)
    raw.unlink()
    return folder / "img.E01", hashing


def ewf_row(work: Path, size_mib: int, repeat: int) -> Row:
    name = "EWF media hashing, `read_ewf` ÷ `ewfverify`"
    if shutil.which("ewfacquire") is None or not ewf_reader.available():
        return Row(name, "—", "≥ 0.8", None, "skipped: needs ewf-tools and libewf-python")
    e01, hashing = make_image(work, size_mib)
    size = size_mib * MIB

    def sources() -> list[str]:
        return [str(e01)]

    def decompress() -> None:
        for _ in ewf_reader._blocks(sources, size, ewf_reader.WORKERS, ewf_reader.BLOCK_SIZE):
            pass

    def decompress_in_children() -> None:
        workers = ewf_reader.PIPE_WORKERS
        for _ in ewf_pipe.media_blocks(sources(), size, ewf_reader.BLOCK_SIZE, workers):
            pass

    ref = best(lambda: run(["ewfverify", "-q", str(e01)]), repeat)
    ref_sha1 = best(lambda: run(["ewfverify", "-q", "-d", "sha1", str(e01)]), repeat)
    ours = best(lambda: ewf_reader.read_ewf(sources, ["blake3", "sha256"]), repeat)
    inflate = best(decompress, repeat)
    inflate_children = best(decompress_in_children, repeat)
    e01.unlink()
    return ratio_row(
        name,
        ref / ours,
        0.8,
        f"ours (BLAKE3, SHA-256, MD5, SHA-1) {ours:.2f} s, ewfverify (MD5) {ref:.2f} s, "
        f"ewfverify -d sha1 {ref_sha1:.2f} s; stages alone: libewf decompression in this "
        f"process {inflate:.2f} s, in {ewf_reader.PIPE_WORKERS} child processes (what "
        f"read_ewf uses for files) {inflate_children:.2f} s, the four digests over the raw "
        f"media {hashing:.2f} s "
        f"({size_mib} MiB, deflate fast, libewf {ewf_reader.libewf_version()})",
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(render([ewf_row(Path(tmp), args.size_mib, args.repeat)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
