"""Finding 2: /readyz tells the truth — false, with the reason, whenever a dependency fails.

Each dependency fails for real: a full or read-only data dir (OSError at the OS
boundary), a PostgreSQL database that refuses connections, an S3 endpoint nobody
listens on.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.context import AppContext, build_context
from storage.s3 import S3ObjectLockStore
from tests.conftest import POSTGRES_URL, make_settings
from tests.faults import FullDisk
from tests.seaweed import free_ports


def ready(client: TestClient) -> tuple[int, dict[str, object]]:
    r = client.get("/readyz")
    assert r.headers["content-type"].startswith("application/json")
    return r.status_code, r.json()


def test_readyz_is_true_when_everything_works(client: TestClient) -> None:
    assert ready(client) == (
        200,
        {"ready": True, "data_dir": "ok", "database": "ok", "storage": "ok"},
    )


def test_readyz_is_false_when_the_data_dir_is_full(
    client: TestClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    FullDisk(ctx.settings.data_dir).install(monkeypatch)
    # what the old probe did — an empty file — still succeeds on a full disk:
    (ctx.settings.data_dir / "empty-probe").write_bytes(b"")
    status, body = ready(client)
    monkeypatch.undo()
    assert status == 503 and body["ready"] is False
    assert str(body["data_dir"]).startswith("full: ")
    assert "No space left on device" in str(body["data_dir"])
    assert str(body["storage"]).startswith("unavailable (storage-full)")
    assert body["database"] == "ok"
    leftovers = [p.name for p in ctx.settings.data_dir.iterdir() if p.name.startswith(".probe")]
    assert leftovers == []  # the probe removed its file even though the write failed
    assert ready(client)[0] == 200  # space again: ready again


def test_readyz_is_false_when_the_data_dir_is_read_only(
    client: TestClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = str(ctx.settings.data_dir.resolve())
    real_open = os.open

    def read_only(path: str | os.PathLike[str], flags: int, *args: int, **kw: object) -> int:
        if flags & os.O_CREAT and os.path.abspath(path).startswith(data_dir + os.sep):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    status, body = ready(client)
    monkeypatch.undo()
    assert status == 503 and body["ready"] is False
    assert str(body["data_dir"]).startswith("not writable: ")
    assert "Read-only file system" in str(body["data_dir"])


@pytest.fixture
def pg_ctx(postgres_url: str, tmp_path: Path) -> Iterator[AppContext]:
    context = build_context(make_settings(tmp_path, database_url=postgres_url))
    yield context
    context.engine.dispose()


def test_readyz_is_false_when_the_database_is_unreachable(
    pg_ctx: AppContext, postgres_url: str
) -> None:
    name = make_url(postgres_url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with TestClient(create_app(context=pg_ctx)) as client:
            assert ready(client)[0] == 200
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": name},
                )
            try:
                status, body = ready(client)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            assert status == 503 and body["ready"] is False
            assert body["database"] == "unavailable: OperationalError"
            assert body["data_dir"] == "ok" and body["storage"] == "ok"
            assert "postgres" not in str(body)  # no URL, no credentials
            assert ready(client)[0] == 200
    finally:
        admin.dispose()


def test_readyz_is_false_when_storage_is_unreachable(ctx: AppContext) -> None:
    (port,) = free_ports(1)  # nothing listens there
    store = S3ObjectLockStore(
        endpoint=f"127.0.0.1:{port}",
        access_key="k",
        secret_key="s",
        bucket="evidence",
        connect_timeout=1.0,
        read_timeout=1.0,
    )
    down = replace(ctx, store=store)
    with TestClient(create_app(context=down)) as client:
        status, body = ready(client)
    assert status == 503 and body["ready"] is False
    assert str(body["storage"]).startswith("unavailable (storage-unavailable)")
    assert "unreachable" in str(body["storage"])
    assert body["database"] == "ok" and body["data_dir"] == "ok"
