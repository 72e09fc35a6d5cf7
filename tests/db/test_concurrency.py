"""One writer order (DESIGN §3.4): concurrent appends from processes and threads.

Every writer builds its own engine from the URL (as separate API replicas would) and commits
each append in its own transaction. The result must be one linear ledger: no gaps, no forks,
every prev link right, and a Merkle root equal to an independent MemoryTree's.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from custody import ledger_store, merkle
from custody.case_chain import audit_case_links
from custody.checkpoint import Checkpoint
from custody.db import make_engine, migrate
from custody.ledger import Action, EntryDraft
from custody.log_audit import audit_log
from custody.models import LedgerEntry, LedgerNode

PROCESSES, PER_PROCESS = 4, 200
THREADS, PER_THREAD = 8, 50
JOIN_TIMEOUT = 240


SHARED_CASE = "2026-XS-0117"


def create_shared_case(engine: Engine) -> None:
    """Every writer appends to this one case too: its case chain must stay linear."""
    with Session(engine) as session:
        ledger_store.append(
            session,
            EntryDraft(
                actor="li.wei", department="forensics", action=Action.CASE_CREATED, case=SHARED_CASE
            ),
        )
        session.commit()


def append_loop(engine: Engine, writer: str, count: int) -> None:
    for i in range(count):
        with Session(engine) as session:
            ledger_store.append(
                session,
                EntryDraft(
                    actor=writer,
                    department="forensics",
                    action=Action.VIEW,
                    case=SHARED_CASE if i % 2 == 0 else None,
                    details={"writer": writer, "i": i},
                ),
            )
            session.commit()


def process_writer(url: str, writer: str, count: int) -> None:
    """Runs in a spawned process: its own interpreter, engine and connections."""
    engine = make_engine(url)
    try:
        append_loop(engine, writer, count)
    finally:
        engine.dispose()


def check_linear_ledger(engine: Engine, writers: dict[str, int]) -> None:
    total = sum(writers.values()) + 1  # and the shared case's case.created
    with Session(engine) as session:
        rows = session.execute(select(LedgerEntry).order_by(col(LedgerEntry.seq))).scalars().all()
        assert ledger_store.size(session) == total
        db_root = ledger_store.root(session, total)
        node_count = session.execute(select(func.count()).select_from(LedgerNode)).scalar_one()
    assert len(rows) == total
    assert [r.seq for r in rows] == list(range(total))  # no gaps, no duplicates
    pairs = [(r.seq, bytes(r.canonical)) for r in rows]
    # every hash and prev link, and the database's root recomputed from the entries
    leaves = audit_log(pairs, Checkpoint(origin="test/ledger", size=total, root=db_root)).leaves
    assert [h.hex() for h in leaves] == [r.entry_hash for r in rows]
    assert db_root == merkle.MemoryTree(leaves).root()
    assert node_count == sum(total >> level for level in range(total.bit_length()))
    # one case chain through every writer's entries of the shared case, no fork
    values = [json.loads(bytes(r.canonical)) for r in rows]
    audit_case_links((r.seq, r.entry_hash, v) for r, v in zip(rows, values, strict=True))
    shared = [r.entry_hash for r, v in zip(rows, values, strict=True) if v["case"] == SHARED_CASE]
    links = [v["case_prev"] for v in values if v["case"] == SHARED_CASE]
    assert links == [None, *shared[:-1]]
    # each writer's own appends keep their order and none is lost or doubled
    seen: dict[str, list[int]] = defaultdict(list)
    for value in values[1:]:
        seen[value["details"]["writer"]].append(value["details"]["i"])
    assert {w: len(v) for w, v in seen.items()} == writers
    for order in seen.values():
        assert order == sorted(order) == list(range(len(order)))


@pytest.mark.timeout(300)
def test_processes_append_in_one_linear_order(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        create_shared_case(engine)
        ctx = multiprocessing.get_context("spawn")
        writers = {f"proc-{n}": PER_PROCESS for n in range(PROCESSES)}
        procs = [
            ctx.Process(target=process_writer, args=(database_url, w, c), name=w)
            for w, c in writers.items()
        ]
        for p in procs:
            p.start()
        try:
            for p in procs:
                p.join(timeout=JOIN_TIMEOUT)
            hung = [p.name for p in procs if p.is_alive()]
            assert not hung, f"writers still running after {JOIN_TIMEOUT}s: {hung}"
            assert [p.exitcode for p in procs] == [0] * PROCESSES
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
                    p.join(timeout=10)
        check_linear_ledger(engine, writers)
    finally:
        engine.dispose()


@pytest.mark.timeout(300)
def test_threads_append_in_one_linear_order(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        create_shared_case(engine)
        writers = {f"thread-{n}": PER_THREAD for n in range(THREADS)}
        errors: list[BaseException] = []

        def run(writer: str, count: int) -> None:
            try:
                append_loop(engine, writer, count)
            except BaseException as e:  # reported below, in the test's thread
                errors.append(e)

        threads = [
            threading.Thread(target=run, args=(w, c), name=w, daemon=True)
            for w, c in writers.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=JOIN_TIMEOUT)
        assert not [t.name for t in threads if t.is_alive()], "writer threads hung"
        assert errors == []
        check_linear_ledger(engine, writers)
    finally:
        engine.dispose()


def _try_write_lock(path: str) -> bool:
    """Whether another connection can take the write lock right now (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as e:
        assert "locked" in str(e)
        return False
    finally:
        other.close()


def test_sqlite_transactions_take_the_write_lock_at_their_first_write(tmp_path: Any) -> None:
    """Reads take no lock; an append takes the write lock before it reads the head."""
    url = f"sqlite:///{tmp_path / 'custody.db'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        path = make_url(url).database
        assert path is not None
        with Session(engine) as session:
            ledger_store.size(session)  # a read: the transaction is open, but locks nothing
            assert _try_write_lock(path)
            ledger_store.append(
                session, EntryDraft(actor="a", department="d", action=Action.VIEW, details={})
            )
            assert not _try_write_lock(path)  # a second writer would queue here
            session.commit()
        assert _try_write_lock(path)
    finally:
        engine.dispose()


@pytest.mark.timeout(60)
def test_sqlite_writers_do_not_wait_on_an_open_read_session(tmp_path: Any) -> None:
    """Finding 5: while a read-only session is open (as during a verification's re-hash),
    another connection begins a write transaction and appends, without waiting.

    A barrier, not a clock: the reader holds its transaction open until the writer has
    committed, and the writer's connection has busy_timeout 0, so any wait for a lock
    would fail at once instead of passing slowly.
    """
    url = f"sqlite:///{tmp_path / 'custody.db'}"
    reader_engine, writer_engine = make_engine(url), make_engine(url)
    try:
        migrate(writer_engine)
        with Session(writer_engine) as session:
            ledger_store.append(
                session, EntryDraft(actor="a", department="d", action=Action.VIEW, details={})
            )
            session.commit()
        reading = threading.Event()
        appended = threading.Event()
        seen: dict[str, int] = {}
        failures: list[BaseException] = []

        def reader() -> None:
            try:
                with Session(reader_engine) as session:
                    seen["before"] = ledger_store.size(session)
                    ledger_store.entries(session, 0, 10)
                    reading.set()
                    assert appended.wait(30), "the writer never finished"
                    seen["during"] = ledger_store.size(session)  # same snapshot: still open
                    session.commit()
            except BaseException as e:
                failures.append(e)
                reading.set()

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        assert reading.wait(30)
        with Session(writer_engine) as session:
            session.connection().exec_driver_sql("PRAGMA busy_timeout=0")
            ledger_store.append(
                session, EntryDraft(actor="w", department="d", action=Action.VIEW, details={})
            )
            session.commit()
        appended.set()
        thread.join(30)
        assert not thread.is_alive()
        assert failures == []
        assert seen == {"before": 1, "during": 1}
        with Session(reader_engine) as session:
            assert ledger_store.size(session) == 2
    finally:
        reader_engine.dispose()
        writer_engine.dispose()
