"""Start-up of offline commands and ``custody hash`` ÷ openssl (issue 15 targets).

    python -m bench.bench_startup [--size-mib N] [--repeat R]

Start-up is the wall time of ``custody hash`` on a 1-byte file and of ``custody-verify
--help`` (best of R, each a new process). The hash row is ``custody hash --algorithms
blake3,sha256`` on an N MiB file (default 1024) ÷ ``openssl dgst -sha256`` on it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from functools import partial
from pathlib import Path

from bench.common import MIB, Row, best, openssl_sha256, random_file, ratio_row, render, run
from custody.digests import hash_file

BIN = Path(sys.executable).parent
STARTUP_LIMIT = 0.2


def startup_rows(work: Path, repeat: int) -> list[Row]:
    small = work / "small.bin"
    small.write_bytes(b"x")
    floor = best(lambda: run([sys.executable, "-c", "pass"]), max(repeat, 3))
    rows = []
    for name, cmd in (
        ("start-up: `custody hash` of a 1-byte file", [str(BIN / "custody"), "hash", str(small)]),
        ("start-up: `custody-verify --help`", [str(BIN / "custody-verify"), "--help"]),
    ):
        seconds = best(partial(run, cmd), max(repeat, 3))  # cheap: best of 3 at least
        rows.append(
            Row(
                name,
                f"{seconds:.3f} s",
                f"≤ {STARTUP_LIMIT} s",
                seconds <= STARTUP_LIMIT,
                f"bare `python -c pass` {floor:.3f} s",
            )
        )
    return rows


def hash_row(image: Path, repeat: int) -> Row:
    """Ours ÷ openssl; the detail splits ours into start-up and the hashing core."""
    small = image.with_name("one-byte.bin")
    small.write_bytes(b"x")
    cmd = [str(BIN / "custody"), "hash", "--algorithms", "blake3,sha256"]
    ref = best(lambda: openssl_sha256(image), repeat)
    ours = best(lambda: run([*cmd, str(image)]), repeat)
    startup = best(lambda: run([*cmd, str(small)]), repeat)
    core = best(lambda: hash_file(image, ["blake3", "sha256"]), repeat)
    detail = (
        f"ours {ours:.2f} s, openssl {ref:.2f} s ({image.stat().st_size // MIB} MiB); "
        f"stages: start-up {startup:.2f} s, in-process hash_file {core:.2f} s"
    )
    return ratio_row("`custody hash --algorithms blake3,sha256` ÷ openssl", ref / ours, 0.9, detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = startup_rows(work, args.repeat)
        rows.append(hash_row(random_file(work / "big.bin", args.size_mib), args.repeat))
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
