"""Ledger benchmarks: durable appends, proofs at a million entries, client-side audit rate.

    python -m bench.bench_ledger [--postgres-url URL] [--appends N] [--tree-size N]
                                 [--audit-entries N] [--proofs N] [--no-save]

Measures, on this machine:

- appends per second through ``custody.ledger_store.append`` with every append committed
  in its own transaction (each commit durable: SQLite in WAL mode with synchronous=FULL in a
  temporary directory; PostgreSQL in a fresh database, if the server answers), and, for
  comparison, the same appends in one transaction;
- root, inclusion-proof and consistency-proof time and size (hashes, raw bytes, JSON bytes)
  at 10^6 entries, read from stored Merkle nodes in SQLite. The tree is built fast: the
  complete-subtree rows come from ``custody.merkle.completed_nodes`` in memory and are
  bulk-inserted into ``ledger_nodes`` with the head row (no entry rows are needed for proofs);
  every proof is verified against the stored root;
- full client-side verification (``custody.log_audit.audit_log``: re-hash, re-link,
  recompute the Merkle root, compare with a signed checkpoint) in entries per second.

Prints a markdown table and appends it under "## ledger" in bench/results.md. A benchmark,
not a test: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from custody import ledger_store, merkle
from custody.checkpoint import Checkpoint, SigningKey, open_checkpoint, sign_checkpoint
from custody.db import make_engine, migrate
from custody.errors import ProofError
from custody.ledger import Action, EntryDraft, MemoryLedger, SealedEntry
from custody.log_audit import audit_log
from custody.models import LedgerNode

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADING = "## ledger"
DEFAULT_POSTGRES = os.environ.get(
    "CUSTODY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ORIGIN = "bench.custody.example/ledger"
INSERT_BATCH = 50_000
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Row:
    what: str
    value: str
    detail: str = ""


def draft(i: int) -> EntryDraft:
    """Entry 0 creates the case; every later one views an item of it (a case chain)."""
    return EntryDraft(
        actor="li.wei",
        department="forensics",
        action=Action.CASE_CREATED if i == 0 else Action.VIEW,
        case="2026-XS-0117",
        evidence=str(uuid.UUID(int=i)),
        details={"purpose": "bench", "i": i},
    )


# --- appends -----------------------------------------------------------------------------------


def time_appends(engine: Engine, n: int, *, per_commit: bool) -> float:
    migrate(engine)
    start = time.perf_counter()
    with Session(engine) as session:
        for i in range(n):
            ledger_store.append(session, draft(i))
            if per_commit:
                session.commit()
        session.commit()
    return time.perf_counter() - start


def sqlite_appends(n: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        for per_commit in (True, False):
            engine = make_engine(f"sqlite:///{Path(tmp) / f'ledger-{per_commit}.db'}")
            try:
                seconds = time_appends(engine, n, per_commit=per_commit)
            finally:
                engine.dispose()
            rows.append(append_row("SQLite (WAL, synchronous=FULL)", n, seconds, per_commit))
    return rows


def append_row(db: str, n: int, seconds: float, per_commit: bool) -> Row:
    how = "one commit per append (each durable)" if per_commit else f"{n} appends, one commit"
    return Row(
        what=f"appends/s, {db}, {how}",
        value=f"{n / seconds:,.0f}",
        detail=f"{n} appends in {seconds:.2f} s ({seconds / n * 1000:.2f} ms each)",
    )


def postgres_appends(admin_url: str, n: int) -> list[Row]:
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # unreachable: say so in the table, measure the rest
        reason = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        return [
            Row(what="appends/s, PostgreSQL", value="skipped", detail=f"not reachable ({reason})")
        ]
    rows = []
    try:
        for per_commit in (True, False):
            name = f"custody_bench_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
                    fsync = conn.execute(text("SHOW fsync")).scalar_one()
                seconds = time_appends(engine, n, per_commit=per_commit)
            finally:
                engine.dispose()
                with admin.connect() as conn:
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :n AND pid <> pg_backend_pid()"
                        ),
                        {"n": name},
                    )
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            db = f"PostgreSQL (synchronous_commit={sync}, fsync={fsync})"
            rows.append(append_row(db, n, seconds, per_commit))
    finally:
        admin.dispose()
    return rows


# --- proofs at a large size --------------------------------------------------------------------


def bench_leaf(i: int) -> bytes:
    return merkle.leaf_hash(i.to_bytes(8, "big"))


def node_rows(size: int) -> Iterator[dict[str, object]]:
    """Every complete-subtree row of a ``size``-leaf tree, from ``completed_nodes``.

    Appending leaf i only ever needs the newest node of each level as its left sibling, so
    memory stays O(log n) while the ~2n rows stream out.
    """
    newest: dict[int, tuple[int, bytes]] = {}

    def source(level: int, index: int) -> bytes:
        idx, digest = newest[level]
        assert idx == index
        return digest

    for i in range(size):
        for level, idx, digest in merkle.completed_nodes(i, bench_leaf(i), source):
            newest[level] = (idx, digest)
            yield {"level": level, "idx": idx, "hash": digest}


def build_big_tree(engine: Engine, size: int) -> tuple[int, float]:
    migrate(engine)
    start = time.perf_counter()
    count = 0
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for row in node_rows(size):
            batch.append(row)
            if len(batch) == INSERT_BATCH:
                conn.execute(insert(LedgerNode), batch)
                count += len(batch)
                batch = []
        if batch:
            conn.execute(insert(LedgerNode), batch)
            count += len(batch)
        conn.execute(
            text("UPDATE ledger_head SET size = :n, last_hash = :h WHERE id = 1"),
            {"n": size, "h": bench_leaf(size - 1).hex()},
        )
    return count, time.perf_counter() - start


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f}"


def proof_rows(size: int, proofs: int) -> list[Row]:
    rng = random.Random(9162)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-tree-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'tree.db'}")
        try:
            print(f"building a {size:,}-leaf tree in SQLite …", flush=True)
            nodes, build_seconds = build_big_tree(engine, size)
            with Session(engine) as session:
                root_seconds, root = timed(functools.partial(ledger_store.root, session, size))

            inc_times, inc_counts, inc_json, verify_times = [], [], [], []
            con_times, con_counts, con_json = [], [], []
            failures = 0
            for _ in range(proofs):
                index = rng.randrange(size)
                with Session(engine) as session:  # a fresh session: no node cache carried over
                    seconds, hashes = timed(
                        functools.partial(ledger_store.inclusion_proof, session, index, size)
                    )
                inc_times.append(seconds)
                inc_counts.append(len(hashes))
                inc_json.append(len(json.dumps(merkle.inclusion_proof_json(index, size, hashes))))
                start = time.perf_counter()
                try:
                    merkle.verify_inclusion(
                        leaf_hash=bench_leaf(index), index=index, size=size, proof=hashes, root=root
                    )
                except ProofError:
                    failures += 1
                verify_times.append(time.perf_counter() - start)

                first = rng.randrange(1, size)
                with Session(engine) as session:
                    seconds, hashes = timed(
                        functools.partial(ledger_store.consistency_proof, session, first, size)
                    )
                    first_root = ledger_store.root(session, first)
                con_times.append(seconds)
                con_counts.append(len(hashes))
                con_json.append(len(json.dumps(merkle.consistency_proof_json(first, size, hashes))))
                try:
                    merkle.verify_consistency(
                        first=first,
                        second=size,
                        proof=hashes,
                        first_root=first_root,
                        second_root=root,
                    )
                except ProofError:
                    failures += 1
        finally:
            engine.dispose()

    def sizes(counts: list[int], js: list[int]) -> str:
        return (
            f"{statistics.median(counts):.0f} hashes median (max {max(counts)}), "
            f"{32 * statistics.median(counts):.0f} B raw, {statistics.median(js):.0f} B JSON"
        )

    n = f"{size:,}"
    return [
        Row(
            what=f"build {n}-leaf tree (completed_nodes + bulk insert)",
            value=f"{build_seconds:.1f} s",
            detail=f"{nodes:,} ledger_nodes rows",
        ),
        Row(what=f"root at {n}, ms", value=f"{root_seconds * 1000:.2f}", detail="cold session"),
        Row(
            what=f"inclusion proof at {n}, ms (median of {proofs})",
            value=ms(inc_times),
            detail=sizes(inc_counts, inc_json),
        ),
        Row(
            what=f"verify_inclusion at {n}, ms (median)",
            value=ms(verify_times),
            detail=f"{failures} of {2 * proofs} proofs failed to verify",
        ),
        Row(
            what=f"consistency proof m→{n}, ms (median of {proofs}, random m)",
            value=ms(con_times),
            detail=sizes(con_counts, con_json),
        ),
    ]


# --- client-side audit -------------------------------------------------------------------------


def audit_rows(count: int) -> list[Row]:
    start = time.perf_counter()
    ledger = MemoryLedger()
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for i in range(count):
        ledger.append(draft(i), time=t0 + dt.timedelta(milliseconds=i))
    entries: list[SealedEntry] = ledger.entries
    seal_seconds = time.perf_counter() - start
    key = SigningKey.generate(ORIGIN)
    tree = merkle.MemoryTree(e.hash for e in entries)
    note = sign_checkpoint(Checkpoint(origin=ORIGIN, size=count, root=tree.root()), key)
    pairs = [(e.seq, e.canonical) for e in entries]
    total_bytes = sum(len(c) for _, c in pairs)
    start = time.perf_counter()
    checkpoint = open_checkpoint(note, [key.verifier()])
    result = audit_log(pairs, checkpoint)
    audit_seconds = time.perf_counter() - start
    assert result.size == count
    return [
        Row(
            what=f"seal entries (build + RFC 8785 + hash), entries/s over {count:,}",
            value=f"{count / seal_seconds:,.0f}",
            detail=f"{seal_seconds:.1f} s",
        ),
        Row(
            what=f"audit_log (full client-side verification), entries/s over {count:,}",
            value=f"{count / audit_seconds:,.0f}",
            detail=f"{audit_seconds:.2f} s, {total_bytes / audit_seconds / 1e6:.1f} MB/s of "
            "canonical JSON",
        ),
    ]


# --- output ------------------------------------------------------------------------------------


def render(rows: list[Row]) -> str:
    lines = ["| measurement | value | detail |", "|---|---:|---|"]
    lines += [f"| {r.what} | {r.value} | {r.detail} |" for r in rows]
    return "\n".join(lines)


def append_results(block: str, results: Path = RESULTS) -> None:
    """Add ``block`` at the end of the "## ledger" section, creating the section if needed."""
    text_ = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    lines = text_.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == HEADING)
    except StopIteration:
        results.write_text(text_.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n", encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    head = "\n".join(lines[:end]).rstrip("\n")
    rest = "\n".join(lines[end:])
    out = f"{head}\n\n{block}\n" + (f"\n{rest}\n" if rest else "")
    results.write_text(out, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_ledger", description=__doc__)
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="a PostgreSQL server URL; a fresh database is created there and dropped after",
    )
    parser.add_argument("--appends", type=int, default=1000, help="appends per run (1000)")
    parser.add_argument("--tree-size", type=int, default=10**6, help="leaves for proofs (10^6)")
    parser.add_argument("--proofs", type=int, default=200, help="proofs to time (200)")
    parser.add_argument(
        "--audit-entries", type=int, default=100_000, help="entries to audit (100000)"
    )
    parser.add_argument("--no-save", action="store_true", help="do not append to results.md")
    args = parser.parse_args(argv)

    rows: list[Row] = []
    print(f"appending {args.appends} entries to SQLite …", flush=True)
    rows += sqlite_appends(args.appends)
    print(f"appending {args.appends} entries to PostgreSQL …", flush=True)
    rows += postgres_appends(args.postgres_url, args.appends)
    rows += proof_rows(args.tree_size, args.proofs)
    print(f"sealing and auditing {args.audit_entries:,} entries …", flush=True)
    rows += audit_rows(args.audit_entries)

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join(
        [
            f"### {stamp}: {args.appends} appends, tree of {args.tree_size:,}, "
            f"audit of {args.audit_entries:,}",
            "",
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}. Temp dir: {tempfile.gettempdir()}.",
            "",
            render(rows),
        ]
    )
    print()
    print(block)
    if not args.no_save:
        append_results(block)
        print(f"\nappended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
