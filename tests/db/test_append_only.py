"""The database itself refuses to change ledger rows (DESIGN §3.3), on SQLite and PostgreSQL.

Raw SQL through the application's own engine: whatever the ORM does or does not offer, the
triggers must refuse, and the rows must be byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from custody import ledger_store
from custody.checkpoint import SigningKey
from custody.db import make_engine, migrate
from custody.ledger import Action, EntryDraft, utc_now
from custody.models import Cosignature, Timestamp

ORIGIN = "test.custody.example/ledger"
KEYS = {
    "ledger_entries": "seq",
    "ledger_nodes": "level, idx",
    "ledger_checkpoints": "size",
    "ledger_cosignatures": "size, witness",  # issue 12: evidence received from outside
    "ledger_timestamps": "id",
}
TABLES = list(KEYS)

# one UPDATE per table that touches a real column, and whole-table variants
UPDATES = {
    "ledger_entries": [
        "UPDATE ledger_entries SET actor = 'forger' WHERE seq = 2",
        "UPDATE ledger_entries SET canonical = canonical WHERE seq = 0",  # even a no-op write
        "UPDATE ledger_entries SET entry_hash = entry_hash",
    ],
    "ledger_nodes": [
        "UPDATE ledger_nodes SET hash = hash WHERE level = 0 AND idx = 1",
        "UPDATE ledger_nodes SET idx = idx + 100",
    ],
    "ledger_checkpoints": [
        "UPDATE ledger_checkpoints SET root = 'ff' WHERE size = 3",
        "UPDATE ledger_checkpoints SET note = ''",
    ],
    "ledger_cosignatures": ["UPDATE ledger_cosignatures SET line = 'forged' WHERE size = 6"],
    "ledger_timestamps": ["UPDATE ledger_timestamps SET token = token"],
}
DELETES = {
    "ledger_entries": ["DELETE FROM ledger_entries WHERE seq = 4", "DELETE FROM ledger_entries"],
    "ledger_nodes": ["DELETE FROM ledger_nodes WHERE level = 1", "DELETE FROM ledger_nodes"],
    "ledger_checkpoints": [
        "DELETE FROM ledger_checkpoints WHERE size = 3",
        "DELETE FROM ledger_checkpoints",  # SQLite's truncate optimization must not skip triggers
    ],
    "ledger_cosignatures": ["DELETE FROM ledger_cosignatures"],
    "ledger_timestamps": ["DELETE FROM ledger_timestamps WHERE size = 6"],
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    key = SigningKey.generate(ORIGIN)
    with Session(engine) as session:
        for i in range(6):
            ledger_store.append(
                session, EntryDraft(actor="li.wei", department="forensics", action=Action.VIEW)
            )
            if i == 2:
                ledger_store.sign_current(session, key, ORIGIN)
        ledger_store.sign_current(session, key, ORIGIN)
        now = utc_now()
        session.add(
            Cosignature(
                size=6, witness="w+00000000", line="— w AAAA\n", signed_at=now, received_at=now
            )
        )
        session.add(
            Timestamp(
                id="t1", size=6, tsa="http://tsa", body_sha256="00" * 32, token=b"\x30",
                gen_time=now, created_at=now,
            )
        )  # fmt: skip
        session.commit()
    yield engine
    engine.dispose()


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t: [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(text(f"SELECT * FROM {t} ORDER BY {KEYS[t]}"))
            ]
            for t in TABLES
        }


def assert_refused(engine: Engine, sql: str, table: str) -> None:
    before = snapshot(engine)
    assert before[table], "the fixture must have rows, or a row trigger never fires"
    with pytest.raises(DBAPIError) as info:
        with engine.begin() as conn:
            conn.execute(text(sql))
    assert f"{table} is append-only" in str(info.value)
    assert snapshot(engine) == before


@pytest.mark.parametrize("table", TABLES)
def test_update_is_refused(engine: Engine, table: str) -> None:
    for sql in UPDATES[table]:
        assert_refused(engine, sql, table)


@pytest.mark.parametrize("table", TABLES)
def test_delete_is_refused(engine: Engine, table: str) -> None:
    for sql in DELETES[table]:
        assert_refused(engine, sql, table)


def test_upsert_that_would_update_is_refused(engine: Engine) -> None:
    sql = (
        "INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 1, :h) "
        "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash"
    )
    before = snapshot(engine)
    with pytest.raises(DBAPIError, match="ledger_nodes is append-only"):
        with engine.begin() as conn:
            conn.execute(text(sql), {"h": b"\x00" * 32})
    assert snapshot(engine) == before


@pytest.mark.parametrize("table", TABLES)
def test_truncate_is_refused_on_postgresql(engine: Engine, table: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE without WHERE is tested above)")
    assert_refused(engine, f"TRUNCATE {table}", table)
    assert_refused(engine, f"TRUNCATE {table} CASCADE", table)


@pytest.mark.parametrize(
    ("table", "sql"),
    [
        (
            "ledger_entries",
            "INSERT OR REPLACE INTO ledger_entries "
            "(seq, entry_hash, canonical, action, actor, recorded_at) "
            "VALUES (1, 'ff', x'00', 'evidence.view', 'forger', '2026-01-01 00:00:00')",
        ),
        (
            "ledger_entries",  # a new seq whose entry_hash collides: REPLACE deletes the old row
            "INSERT OR REPLACE INTO ledger_entries "
            "(seq, entry_hash, canonical, action, actor, recorded_at) "
            "SELECT 1000, entry_hash, x'00', 'evidence.view', 'forger', '2026-01-01 00:00:00' "
            "FROM ledger_entries WHERE seq = 3",
        ),
        ("ledger_nodes", "REPLACE INTO ledger_nodes (level, idx, hash) VALUES (0, 1, x'00')"),
        (
            "ledger_checkpoints",
            "INSERT OR REPLACE INTO ledger_checkpoints (size, root, note, created_at) "
            "VALUES (3, 'ff', 'forged', '2026-01-01 00:00:00')",
        ),
    ],
    ids=["entries-same-seq", "entries-same-hash", "nodes", "checkpoints"],
)
def test_sqlite_replace_is_refused(engine: Engine, table: str, sql: str) -> None:
    """INSERT OR REPLACE deletes the conflicting row; SQLite fires no DELETE trigger for that
    unless ``PRAGMA recursive_triggers`` is on, so a BEFORE DELETE trigger alone lets it by."""
    if engine.dialect.name != "sqlite":
        pytest.skip("REPLACE is SQLite syntax; PostgreSQL's upsert is tested above")
    before = snapshot(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    except DBAPIError as e:
        assert "append-only" in str(e)
    assert snapshot(engine) == before, f"SQLite REPLACE rewrote a {table} row"


def test_appends_still_work_after_refusals(engine: Engine) -> None:
    with pytest.raises(DBAPIError):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_entries"))
    with Session(engine) as session:
        sealed = ledger_store.append(
            session, EntryDraft(actor="li.wei", department="forensics", action=Action.VIEW)
        )
        session.commit()
    assert sealed.seq == 6
    assert len(snapshot(engine)["ledger_entries"]) == 7
