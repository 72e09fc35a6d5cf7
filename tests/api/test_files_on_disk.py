"""Finding 15: the files the service keeps on disk are private and never half-written."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from api.context import AppContext, build_context
from api.keys import load_or_create_signing_key
from custody.errors import StorageFull
from tests.conftest import make_settings
from tests.faults import FullDisk

ORIGIN = "test.custody.example/ledger"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_its_wal_files_are_mode_0600(ctx: AppContext) -> None:
    db = ctx.settings.data_dir / "custody.db"
    with ctx.engine.connect() as conn:  # WAL and shared-memory files exist while connected
        conn.exec_driver_sql("SELECT count(*) FROM ledger_entries")
        files = [db, db.with_name("custody.db-wal"), db.with_name("custody.db-shm")]
        assert all(p.exists() for p in files)
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_existing_world_readable_database_is_tightened_to_0600(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = build_context(settings)
    first.engine.dispose()
    db = settings.data_dir / "custody.db"
    db.chmod(0o644)  # as finding 15 found it
    again = build_context(settings)
    try:
        assert mode(db) == 0o600
    finally:
        again.engine.dispose()


def test_signing_key_and_admin_token_are_mode_0600(ctx: AppContext) -> None:
    assert mode(ctx.settings.signing_key_path) == 0o600
    assert mode(ctx.settings.admin_token_path) == 0o600
    text = ctx.settings.signing_key_path.read_text()
    assert text.endswith("\n") and ctx.signing_key.to_text() in text
    leftovers = [p.name for p in ctx.settings.data_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_signing_key_on_a_full_disk_leaves_no_partial_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Temp file + fsync + link: a failed write never leaves a truncated key to load later."""
    path = tmp_path / "keys" / "signing.key"
    FullDisk(tmp_path).install(monkeypatch)
    with pytest.raises(StorageFull, match="signing key"):
        load_or_create_signing_key(path, ORIGIN)
    monkeypatch.undo()
    assert list(path.parent.iterdir()) == []
    key = load_or_create_signing_key(path, ORIGIN)
    assert load_or_create_signing_key(path, ORIGIN, create=False).to_text() == key.to_text()


def test_servers_starting_at_once_end_up_with_one_signing_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    barrier = threading.Barrier(4)
    keys: list[str] = []

    def start() -> None:
        barrier.wait(10)
        keys.append(load_or_create_signing_key(path, ORIGIN).to_text())

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(keys) == 4 and len(set(keys)) == 1
    assert path.read_text().strip() == keys[0]
    assert mode(path) == 0o600
