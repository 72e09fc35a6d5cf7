"""Findings 1 (infrastructure), 2 and 15: storage faults get a clear answer, leave nothing.

The failures are real OSErrors raised at the OS boundary (tests/faults.py), through the
real HTTP app, the real local WORM store and the real SQLite database.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.context import AppContext
from api.problems import status_for
from api.services import orphans
from custody.errors import StorageError, StorageFull, StorageUnavailable
from custody.ledger import Action
from custody.models import LedgerEntry
from storage.local import LocalWormStore
from tests.api.test_intake import DATA, assert_problem, counts, meta, multipart, stored_objects
from tests.conftest import Actor
from tests.faults import FullDisk


def staging_files(ctx: AppContext) -> list[Path]:
    staging = ctx.settings.data_dir / "store" / ".staging"
    return sorted(p for p in staging.iterdir() if p.is_file()) if staging.is_dir() else []


def entries(ctx: AppContext, action: str) -> list[dict[str, Any]]:
    with ctx.session() as s:
        rows = s.execute(select(LedgerEntry).where(LedgerEntry.action == action)).scalars()
        return [json.loads(r.canonical) for r in rows]


def test_storage_full_is_507(ctx: AppContext) -> None:
    assert status_for(StorageFull("full")) == 507


@pytest.mark.parametrize("form", ["multipart", "raw"])
def test_full_disk_during_intake_answers_507_storage_full_and_leaves_nothing(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    """Finding 1 (a full disk gave a bare 500) and 2 (nothing half-done on a full disk)."""
    before = counts(ctx)
    disk = FullDisk(ctx.settings.data_dir / "store").install(monkeypatch)
    if form == "multipart":
        r = client.post("/api/v1/evidence", files=multipart(case), headers=technician.headers)
    else:
        r = client.post(
            "/api/v1/evidence",
            params={"metadata": meta(case)},
            content=DATA,
            headers={**technician.headers, "Content-Type": "application/octet-stream"},
        )
    monkeypatch.undo()
    body = assert_problem(r, 507, "storage-full")
    assert "full" in body["detail"]
    assert disk.refused >= 1  # the failure really came from the write
    assert counts(ctx) == before  # no evidence row, no INTAKE (nor any other) entry
    assert stored_objects(ctx) == []  # no object, referenced or not
    assert staging_files(ctx) == []  # no staging file
    assert orphans.list_orphans(ctx) == []


def test_full_disk_when_locking_after_the_store_registers_the_unreferenced_object(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The object was stored; its lock record hit the full disk: 507, and it is registered."""
    evidence_before, _, _ = counts(ctx)
    FullDisk(ctx.settings.data_dir / "store", only=lambda path: "/.lock-" in path).install(
        monkeypatch
    )
    r = client.post("/api/v1/evidence", files=multipart(case), headers=technician.headers)
    monkeypatch.undo()
    assert_problem(r, 507, "storage-full")
    evidence_after, _, actions = counts(ctx)
    assert evidence_after == evidence_before
    assert Action.INTAKE not in actions
    assert staging_files(ctx) == []
    [entry] = entries(ctx, Action.OBJECT_UNREFERENCED)
    assert entry["actor"] == technician.name and entry["case"] == case
    assert entry["details"]["code"] == "storage-full"
    [orphan] = orphans.list_orphans(ctx)
    assert orphan.registered and orphan.present
    assert orphan.key == entry["details"]["object_key"]
    assert stored_objects(ctx) == [str(ctx.settings.data_dir / "store" / orphan.key)]

    # the same content again: the existing object is reused, locked and referenced
    r = client.post("/api/v1/evidence", files=multipart(case), headers=technician.headers)
    assert r.status_code == 201, r.text
    assert r.json()["object_key"] == orphan.key
    assert orphans.list_orphans(ctx) == []


def test_unwritable_store_answers_503_storage_unavailable(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    """Any other OSError is a StorageUnavailable with the reason, never a bare 500."""
    staging = ctx.settings.data_dir / "store" / ".staging"
    for p in staging.iterdir():
        p.unlink()
    staging.rmdir()
    staging.write_bytes(b"not a folder")  # mkdir / mkstemp now fail with an OSError
    before = counts(ctx)
    r = client.post("/api/v1/evidence", files=multipart(case), headers=technician.headers)
    body = assert_problem(r, 503, "storage-unavailable")
    assert str(ctx.settings.data_dir / "store") in body["detail"]
    assert counts(ctx) == before


def test_eio_on_write_is_storage_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custody.digests import MultiHasher

    store = LocalWormStore(tmp_path / "worm")
    store.check_ready()
    FullDisk(tmp_path, code=errno.EIO).install(monkeypatch)
    with pytest.raises(StorageUnavailable, match="Input/output error"):
        store.put(_Reader(b"x" * 10), hasher=MultiHasher(["blake3", "sha256"]))
    monkeypatch.undo()
    assert list((tmp_path / "worm" / ".staging").iterdir()) == []


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, n: int = -1) -> bytes:
        out, self._data = self._data, b""
        return out


def test_damaged_lock_file_is_a_storage_error_not_a_crash(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    """Finding "Adapters": a lock sidecar that is not JSON is reported, never a JSONDecodeError."""
    r = client.post("/api/v1/evidence", files=multipart(case), headers=technician.headers)
    assert r.status_code == 201, r.text
    key = r.json()["object_key"]
    lock = ctx.settings.data_dir / "store" / (key + ".lock.json")
    lock.write_bytes(b'{"retain_until": "2030-01-0')  # torn / edited behind the service
    with pytest.raises(StorageError, match="damaged") as caught:
        ctx.store.stat(key, None)
    assert not isinstance(caught.value, StorageUnavailable)
    assert isinstance(caught.value.__cause__, ValueError)
    lock.write_bytes(b"[1, 2]")  # JSON, but not a lock record
    with pytest.raises(StorageError, match="damaged"):
        ctx.store.stat(key, None)
