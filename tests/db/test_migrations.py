"""Schema migrations on real SQLite and PostgreSQL: fresh create, idempotence, WAL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import custody.models  # noqa: F401  (registers every table on SQLModel.metadata)
from custody import ledger_store
from custody.db import alembic_config, make_engine, migrate
from custody.ledger import GENESIS_PREV, Action, EntryDraft

TABLES = {
    "enrolment_codes",
    "cases",
    "evidence",
    "ledger_entries",
    "ledger_nodes",
    "ledger_head",
    "ledger_checkpoints",
    "accounts",
    "api_tokens",
    "grants",
    "alembic_version",
}
LEDGER_TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
        return {r[0] for r in rows}


def schema(engine: Engine) -> dict[str, Any]:
    """Everything a migration could change: tables, columns, indexes, triggers."""
    insp = inspect(engine)
    return {
        "tables": {
            t: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
                sorted((i["name"], tuple(i["column_names"])) for i in insp.get_indexes(t)),
                insp.get_pk_constraint(t)["constrained_columns"],
            )
            for t in sorted(insp.get_table_names())
        },
        "triggers": triggers(engine),
    }


def head_row(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, size, last_hash FROM ledger_head")).all()
    assert len(rows) == 1
    return tuple(rows[0])


def alembic_revision(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_fresh_database_gets_every_table_and_the_head_row(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert tables >= TABLES
    assert tables >= set(SQLModel.metadata.tables)  # every model has its table
    assert head_row(engine) == (1, 0, GENESIS_PREV)
    newest = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert alembic_revision(engine) == [newest]
    for table in LEDGER_TABLES:
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
    names = triggers(engine)
    if engine.dialect.name == "sqlite":
        expected = {f"{t}_no_{v}" for t in LEDGER_TABLES for v in ("update", "delete")}
    else:
        expected = {f"{t}_{s}" for t in LEDGER_TABLES for s in ("append_only", "no_truncate")}
    assert expected <= names


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    migrate(engine)
    with Session(engine) as session:
        for i in range(3):
            ledger_store.append(
                session, EntryDraft(actor="a", department="d", action=Action.VIEW, details={"i": i})
            )
        session.commit()
    before = (schema(engine), head_row(engine), alembic_revision(engine))
    migrate(engine)
    migrate(engine)
    after = (schema(engine), head_row(engine), alembic_revision(engine))
    assert after == before
    assert head_row(engine)[1] == 3  # the head row was neither reset nor duplicated
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one() == 3


def test_migrate_from_a_second_engine_on_the_same_database(database_url: str) -> None:
    """Every server start runs migrate; a second replica starting must change nothing."""
    first = make_engine(database_url)
    second = make_engine(database_url)
    try:
        migrate(first)
        before = schema(first)
        migrate(second)
        assert schema(second) == before
        assert head_row(second) == (1, 0, GENESIS_PREV)
    finally:
        first.dispose()
        second.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'custody.db'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 60000
    finally:
        engine.dispose()
    # WAL is a property of the file: any other client opening it sees it too.
    path = make_url(url).database
    assert path is not None
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()
