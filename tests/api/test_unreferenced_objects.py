"""Findings 2 and 3: an object stored but never committed is registered, listed and reused;
crash leftovers in staging are swept.

The database refuses the commit for real: a trigger, created for the test in the real
SQLite or PostgreSQL database, aborts the insert — as a full disk, a constraint or a
dropped connection would at that point.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from api.context import AppContext, build_context
from api.services import orphans, sweep
from custody.digests import MultiHasher
from custody.ledger import Action, utc_now
from tests.api.test_intake import DATA, counts, multipart, stored_objects
from tests.api.test_storage_faults import entries, staging_files
from tests.conftest import Actor, add_account, make_settings

CASE = "2026-XS-0117"
TWO_HOURS_AGO = time.time() - 7200


def refuse_inserts(engine: Engine, table: str) -> None:
    """A real database refusal: a trigger that aborts every insert into ``table``."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER test_refuse_{table} BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'injected: the database refuses the write'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'injected: the database refuses the write'; END; $$ "
                "LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER test_refuse_{table} BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )


def allow_inserts(engine: Engine, table: str) -> None:
    with engine.begin() as conn:
        on = "" if engine.dialect.name == "sqlite" else f" ON {table}"
        conn.execute(text(f"DROP TRIGGER test_refuse_{table}{on}"))


@pytest.fixture
def dctx(database_url: str, tmp_path: Path) -> Iterator[AppContext]:
    """The service on each dialect."""
    context = build_context(make_settings(tmp_path, database_url=database_url))
    yield context
    context.engine.dispose()


@pytest.fixture
def dclient(dctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=dctx), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tech(dctx: AppContext, dclient: TestClient) -> Actor:
    actor = add_account(dctx, "li.wei", role="technician", department="forensics")
    r = dclient.post("/api/v1/cases", json={"number": CASE, "title": "t"}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return actor


def test_commit_refused_after_store_is_recorded_on_the_ledger_and_reused(
    dclient: TestClient, dctx: AppContext, tech: Actor
) -> None:
    """Finding 2: stored and locked, then the commit failed — the object is registered."""
    evidence_before, _, _ = counts(dctx)
    refuse_inserts(dctx.engine, "evidence")
    r = dclient.post("/api/v1/evidence", files=multipart(CASE), headers=tech.headers)
    assert r.status_code >= 500
    evidence_after, _, actions = counts(dctx)
    assert evidence_after == evidence_before
    assert Action.INTAKE not in actions
    [entry] = entries(dctx, Action.OBJECT_UNREFERENCED)
    assert entry["actor"] == tech.name and entry["case"] == CASE
    assert entry["details"]["size"] == len(DATA)
    assert "injected" not in json.dumps(entry)  # the error's type, never its text
    [orphan] = orphans.list_orphans(dctx)
    assert orphan.registered and orphan.present
    assert orphan.retain_until is not None  # it was locked before the commit failed
    assert orphan.key == entry["details"]["object_key"]
    assert [o.source for o in orphan.registrations] == ["ledger"]

    allow_inserts(dctx.engine, "evidence")
    r = dclient.post("/api/v1/evidence", files=multipart(CASE), headers=tech.headers)
    assert r.status_code == 201, r.text
    assert r.json()["object_key"] == orphan.key  # the existing locked object, stored once
    assert len(stored_objects(dctx)) == 1
    assert orphans.list_orphans(dctx) == []


def test_commit_refused_with_the_ledger_down_goes_to_the_register_file(
    dclient: TestClient, dctx: AppContext, tech: Actor
) -> None:
    """Where the database takes nothing, a durable register file under the data dir does."""
    _, entries_before, _ = counts(dctx)
    refuse_inserts(dctx.engine, "ledger_entries")
    r = dclient.post("/api/v1/evidence", files=multipart(CASE), headers=tech.headers)
    assert r.status_code >= 500
    assert counts(dctx)[1] == entries_before
    register = dctx.settings.unreferenced_register_path
    assert register.stat().st_mode & 0o777 == 0o600
    [line] = register.read_text().splitlines()
    record = json.loads(line)
    assert record["case"] == CASE and record["actor"] == tech.name
    [orphan] = orphans.list_orphans(dctx)
    assert orphan.registered and [o.source for o in orphan.registrations] == ["register"]
    assert orphan.key == record["object_key"]

    # a crash mid-append leaves a torn last line: it is skipped, never fatal
    with register.open("ab") as f:
        f.write(b'{"object_key": "objects/bla')
    assert [r.key for r in orphans.read_register(register)] == [orphan.key]

    allow_inserts(dctx.engine, "ledger_entries")
    report = sweep.sweep(dctx)
    assert report.registered == 1  # the register line is now on the ledger
    [entry] = entries(dctx, Action.OBJECT_UNREFERENCED)
    assert entry["details"]["object_key"] == orphan.key
    assert entry["details"]["code"] == "register-file"
    [orphan] = orphans.list_orphans(dctx)
    assert sorted(o.source for o in orphan.registrations) == ["ledger", "register"]
    assert sweep.sweep(dctx).registered == 0  # once only


def test_sweep_registers_a_stored_object_that_nothing_references(
    ctx: AppContext, client: TestClient, technician: Actor, case: str
) -> None:
    """Finding 3: what a kill -9 between store and commit leaves is found and registered."""
    stored = ctx.store.put(_Reader(DATA), hasher=MultiHasher(["blake3", "sha256"]))
    ctx.store.set_retention(stored.key, None, utc_now().replace(year=utc_now().year + 1))
    [orphan] = orphans.list_orphans(ctx)
    assert not orphan.registered and orphan.present

    assert sweep.sweep(ctx).registered == 0  # too young: may belong to a running intake
    path = ctx.settings.data_dir / "store" / stored.key
    os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    assert sweep.sweep(ctx).registered == 1
    [entry] = entries(ctx, Action.OBJECT_UNREFERENCED)
    assert entry["actor"] == "system" and entry["details"]["code"] == "found-by-sweep"
    assert entry["details"]["object_key"] == stored.key
    [orphan] = orphans.list_orphans(ctx)
    assert orphan.registered
    assert sweep.sweep(ctx).registered == 0

    r = client.post("/api/v1/evidence", files=multipart(case), headers=technician.headers)
    assert r.status_code == 201, r.text
    assert r.json()["object_key"] == stored.key
    assert orphans.list_orphans(ctx) == []


def test_sweep_removes_staging_leftovers_older_than_the_age_and_keeps_fresh_ones(
    ctx: AppContext,
) -> None:
    staging = ctx.settings.data_dir / "store" / ".staging"
    old, fresh = staging / "upload-crashed", staging / "upload-running"
    old.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"y" * 10)
    os.utime(old, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    folder = ctx.settings.data_dir / "store" / "objects" / "blake3" / "ab" / "cd"
    folder.mkdir(parents=True)
    lock_temp = folder / ".lock-crashed"
    lock_temp.write_bytes(b"{")
    os.utime(lock_temp, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    report = sweep.sweep(ctx)
    assert report.staging.staging_removed == 2
    assert report.staging.bytes_freed == 1001
    assert staging_files(ctx) == [fresh]
    assert not lock_temp.exists()


def test_service_start_sweeps_staging_leftovers(ctx: AppContext) -> None:
    staging = ctx.settings.data_dir / "store" / ".staging"
    old = staging / "upload-from-before-the-crash"
    old.write_bytes(b"z" * 100)
    os.utime(old, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    with TestClient(create_app(context=ctx)) as c:
        assert not old.exists()  # swept before the first request was accepted
        assert c.get("/healthz").status_code == 200


def test_periodic_sweep_runs_until_stopped(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = threading.Event()
    real = sweep.sweep_logged

    def observed(context: AppContext) -> sweep.SweepReport | None:
        result = real(context)
        ran.set()
        return result

    monkeypatch.setattr(sweep, "sweep_logged", observed)
    staging = ctx.settings.data_dir / "store" / ".staging"
    sweeper = sweep.PeriodicSweeper(ctx, interval=0.01)
    sweeper.start()
    try:
        old = staging / "upload-left-while-running"
        old.write_bytes(b"w")
        os.utime(old, (TWO_HOURS_AGO, TWO_HOURS_AGO))
        ran.clear()
        assert ran.wait(30)  # a sweep ended after the leftover appeared (it may have begun before)
        ran.clear()
        assert ran.wait(30)  # so this one began after it
        assert not old.exists()
    finally:
        sweeper.stop()
    assert not sweeper._thread.is_alive()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, n: int = -1) -> bytes:
        out, self._data = self._data, b""
        return out
