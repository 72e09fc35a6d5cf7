"""``make bench``: every issue-15 target as one table, measured in one run.

    python -m bench [--quick] [--no-save] [--no-extra]

Each row is a ratio (or a value) measured in this run against its reference on the same
machine and file; it is compared with its target but never fails anything. The durable
limit is max(``openssl dgst -sha256 FILE``, ``dd if=FILE of=OUT bs=4M conv=fsync``); a
ratio is the reference's time ÷ ours. Rows that miss say in their detail where the time
goes, stage by stage.

Default sizes are the issue's (1 GiB files, the RSS pair at 1 and 4 GiB, best of 3);
``--quick`` uses 64 MiB files, an RSS pair of 64 and 256 MiB and one run, to check that the
whole thing works in a few minutes (its numbers mean little). The digest and ledger
benchmarks run first as extra sections; the table is printed last and appended to
bench/results.md under a dated heading (not with ``--no-save``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import bench_digests, bench_ewf, bench_intake, bench_ledger, bench_s3, bench_startup
from bench.common import Row, durable_limit, random_file, render

RESULTS = Path(__file__).with_name("results.md")
# (file MiB, the RSS pair in MiB, runs per measurement, best kept)
FULL = (1024, (1024, 4096), 3)
QUICK = (64, (64, 256), 1)


def attempt(name: str, fn: Callable[[], list[Row]]) -> list[Row]:
    """The rows ``fn`` measures, or one row saying it could not measure them."""
    print(f"… {name}", flush=True)
    try:
        return fn()
    except Exception as e:  # one broken measurement must not lose the others
        traceback.print_exc()
        return [Row(name, "—", "", None, f"error: {type(e).__name__}: {e}")]


def targets(size: int, rss: tuple[int, int], repeat: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        image = random_file(work / "image.dd", size)
        limit = durable_limit(image, repeat)
        rows += attempt("intake", lambda: bench_intake.intake_rows(work, image, limit, repeat))
        rows += attempt("custody hash", lambda: [bench_startup.hash_row(image, repeat)])
        image.unlink()
        rows += attempt("start-up", lambda: bench_startup.startup_rows(work, repeat))
        rows += attempt("s3", lambda: [bench_s3.s3_row(work, size, repeat)])
        rows += attempt("server RSS", lambda: [bench_intake.rss_row(work, *rss)])
        rows += attempt("concurrency", lambda: [bench_intake.concurrent_row(work, size, repeat)])
        rows += attempt("ewf", lambda: [bench_ewf.ewf_row(work, size, repeat)])
    return rows


def extras(quick: bool, size: int, repeat: int, save: bool) -> None:
    """The digest and ledger benchmarks, each printing (and saving) its own section."""
    ledger = ["--appends", "100", "--tree-size", "10000", "--proofs", "20"] if quick else []
    ledger += ["--audit-entries", "5000"] if quick else []
    for name, module, argv in (
        ("digests", bench_digests, ["--size-mib", str(size), "--repeat", str(repeat)]),
        ("ledger", bench_ledger, ledger),
    ):
        print(f"== {name}", flush=True)
        try:
            module.main(argv if save else [*argv, "--no-save"])
        except Exception:
            traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.md")
    parser.add_argument("--no-extra", action="store_true", help="skip digests and ledger")
    args = parser.parse_args(argv)
    size, rss, repeat = QUICK if args.quick else FULL
    started = time.perf_counter()
    if not args.no_extra:
        extras(args.quick, size, repeat, not args.no_save)
    print("== issue 15 targets", flush=True)
    rows = targets(size, rss, repeat)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join(
        [
            f"## targets (issue 15): {stamp}{' (--quick)' if args.quick else ''}",
            "",
            f"{size} MiB files, RSS at {rss[0]} and {rss[1]} MiB, best of {repeat}; "
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}. Durable limit = max(openssl dgst -sha256, "
            "dd bs=4M conv=fsync) on the same file; ratio = reference time ÷ ours.",
            "",
            render(rows),
            "",
            f"Whole run: {time.perf_counter() - started:.0f} s.",
        ]
    )
    print()
    print(block)
    if not args.no_save:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(f"\n{block}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
