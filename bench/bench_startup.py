"""Start-up of offline commands and ``custody hash`` ÷ openssl (issue 15 targets).

Ratios are measured in the same run; BENCH_SIZE_MIB sets the file size (default 256).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def best(cmd: Sequence[str], runs: int = 3) -> float:
    """Best wall time of ``runs`` runs: the least disturbed by other work on the machine."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str]) -> None:
    size = int(os.environ.get("BENCH_SIZE_MIB", "256"))
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp, "small.bin")
        small.write_bytes(b"x")
        big = Path(tmp, "big.bin")
        with big.open("wb") as f:
            for _ in range(size):
                f.write(os.urandom(1 << 20))
        rows = [
            (
                "start-up: custody hash (1 byte)",
                best([str(BIN / "custody"), "hash", str(small)]),
                "≤ 0.2 s",
            ),
            (
                "start-up: custody-verify --help",
                best([str(BIN / "custody-verify"), "--help"]),
                "≤ 0.2 s",
            ),
        ]
        ossl = best([shutil.which("openssl") or "openssl", "dgst", "-sha256", str(big)])
        ours = best([str(BIN / "custody"), "hash", "--algorithms", "blake3,sha256", str(big)])
    print(f"| measure ({size} MiB) | value | target | result |")
    print("|---|---:|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value:.3f} s | {target} | {'PASS' if value <= 0.2 else 'MISS'} |")
    ratio = ossl / ours
    print(
        f"| custody hash blake3+sha256 ÷ openssl ({ours:.2f} s vs {ossl:.2f} s) | {ratio:.2f} "
        f"| ≥ 0.9 | {'PASS' if ratio >= 0.9 else 'MISS'} |"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
