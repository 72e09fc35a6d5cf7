"""Database engines and schema migrations (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode with full fsync. Its transactions begin DEFERRED, so a session
that only reads takes no lock: a long read (a verification, an export) never makes a
writer wait, and is never made to wait. A transaction becomes a write transaction at its
first write, or when ``begin_write`` is called (every ledger append calls it first):
the read-only part is ended and ``BEGIN IMMEDIATE`` takes the write lock, waiting in the
busy handler. Writers from every thread and process therefore queue at that point, and
none meets "database is locked" at a stale snapshot. What a transaction read before
that point may be outdated afterwards — the guarantee PostgreSQL's READ COMMITTED gives
too — so state that a write depends on is read after ``begin_write``. PostgreSQL
serializes ledger appends with a ``SELECT … FOR UPDATE`` on the ledger head row (see
custody.ledger_store).

The SQLite file and its -wal/-shm files are mode 0600: the database holds token hashes
and the index of every case.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DB_FILE_MODE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")

# connection.info key: "idle" (no BEGIN sent yet), "read" (BEGIN DEFERRED), "write"
_STATE = "custody_sqlite_txn"
# statements that write, or open a savepoint a write will follow (a savepoint must not
# straddle the switch to the write transaction)
_WRITES = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|SAVEPOINT)\b", re.IGNORECASE
)
_TXN_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|END|ROLLBACK|RELEASE)\b", re.IGNORECASE)


def _restrict_sqlite_files(database: str) -> None:
    """Create the database file 0600 (SQLite gives -wal/-shm the same mode); tighten old ones."""
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DB_FILE_MODE))
    for suffix in SQLITE_SUFFIXES:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", DB_FILE_MODE)


def _driver_execute(cursor: Any, sql: str, statement: str) -> None:
    try:
        cursor.execute(sql)
    except Exception as e:  # the driver's own error: make it SQLAlchemy's, as any other
        raise OperationalError(statement, None, e) from e


def _upgrade_to_write(conn: Connection, cursor: Any, statement: str) -> None:
    """End the read-only part of the transaction and take the write lock."""
    if conn.info.get(_STATE) == "read":
        _driver_execute(cursor, "COMMIT", statement)  # it wrote nothing: nothing is lost
    _driver_execute(cursor, "BEGIN IMMEDIATE", statement)
    conn.info[_STATE] = "write"


def _install_sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA recursive_triggers=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        conn.info[_STATE] = "idle"  # BEGIN is sent with the first statement

    @event.listens_for(engine, "before_cursor_execute")
    def _sqlite_statement(conn: Connection, cursor: Any, statement: str, *_args: Any) -> None:
        state = conn.info.get(_STATE)
        if state is None or state == "write" or _TXN_CONTROL.match(statement):
            return  # outside a transaction we manage, or already writing
        if _WRITES.match(statement):
            _upgrade_to_write(conn, cursor, statement)
        elif state == "idle":
            _driver_execute(cursor, "BEGIN", statement)
            conn.info[_STATE] = "read"

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _sqlite_end(conn: Connection) -> None:
        conn.info.pop(_STATE, None)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the dialect settings the ledger's guarantees depend on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _restrict_sqlite_files(parsed.database)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 60}, **kwargs
        )
        _install_sqlite_transactions(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def begin_write(session: Session) -> None:
    """Make the session's transaction a write transaction now (SQLite: ``BEGIN IMMEDIATE``).

    Call it before reading anything a write depends on — ``ledger_store.append`` does, so
    the ledger head it reads is the newest. On PostgreSQL it does nothing: the append's
    ``SELECT … FOR UPDATE`` on the head row is the lock there.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite" or conn.info.get(_STATE) == "write":
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        _upgrade_to_write(conn, cursor, "BEGIN IMMEDIATE")
    finally:
        cursor.close()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (run on every start; idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def aware(moment: datetime) -> datetime:
    """Databases hand back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
