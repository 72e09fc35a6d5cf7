"""``make bench``: run every benchmark; each appends its table to bench/results.md.

Benchmarks measure ratios against a reference run on the same machine in the same run
(e.g. our intake throughput ÷ ``openssl dgst -sha256`` on the same file); they never
pass or fail.
"""

from __future__ import annotations

import importlib
import sys

BENCHES = (
    "bench.bench_startup",
    "bench.bench_digests",
    "bench.bench_intake",
    "bench.bench_s3",
    "bench.bench_ledger",
    "bench.bench_ewf",
)


def main() -> int:
    for name in BENCHES:
        print(f"== {name}", flush=True)
        module = importlib.import_module(name)
        module.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
