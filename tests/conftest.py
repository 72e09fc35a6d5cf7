"""Shared fixtures: real databases (SQLite and PostgreSQL), the real app, real accounts."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.context import AppContext, build_context
from api.security import issue_token
from api.settings import Settings
from custody.ledger import utc_now
from custody.models import Account
from tests.seaweed import SeaweedS3, seaweed_s3  # noqa: F401 - the session's S3 server fixture

POSTGRES_URL = os.environ.get(
    "CUSTODY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CUSTODY_REQUIRE_POSTGRES") == "1"


def _postgres_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def postgres_reachable() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    try:
        engine = _postgres_admin_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as e:
        return f"{type(e).__name__}: {e}"


@pytest.fixture(scope="session")
def postgres_available() -> None:
    reason = postgres_reachable()
    if reason is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({reason})"
    if REQUIRE_POSTGRES:
        pytest.fail(message + "; CI requires it (CUSTODY_REQUIRE_POSTGRES=1)")
    pytest.skip(message + "; set CUSTODY_TEST_POSTGRES_URL to run these tests")


@pytest.fixture
def postgres_url(postgres_available: None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"custody_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test on both dialects."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'custody.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def free_port() -> int:
    """A free TCP port on the loopback interface (for live servers and unreachable peers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "ledger_origin": "test.custody.example/ledger",
        "extra_digests": "md5",
        "retention_days": 30,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def make_s3_settings(tmp_path: Path, s3: SeaweedS3, **overrides: object) -> Settings:
    """Settings for the S3 backend on the test SeaweedFS server, in a fresh locked bucket."""
    return make_settings(
        tmp_path,
        storage="s3",
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        s3_bucket=f"evidence-{uuid.uuid4().hex[:10]}",
        s3_create_bucket=True,
        **overrides,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = build_context(settings)
    yield context
    context.engine.dispose()


@dataclass
class Actor:
    name: str
    token: str
    role: str
    department: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_account(
    ctx: AppContext,
    name: str,
    *,
    role: str,
    department: str,
    clearance: str = "secret",
) -> Actor:
    """Create an account directly in the database (the account API is tested on its own)."""
    with ctx.session() as session:
        session.add(
            Account(
                name=name,
                display_name=name.title(),
                role=role,
                department=department,
                clearance=clearance,
                active=True,
                created_at=utc_now(),
                created_by="test",
            )
        )
        session.flush()
        _, token = issue_token(session, name)
        session.commit()
    return Actor(name=name, token=token, role=role, department=department)


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as c:
        yield c


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    token = ctx.settings.admin_token_path.read_text().strip()
    return Actor(name="admin", token=token, role="admin", department="administration")


@pytest.fixture
def technician(ctx: AppContext) -> Actor:
    return add_account(ctx, "li.wei", role="technician", department="forensics")


@pytest.fixture
def case(client: TestClient, technician: Actor) -> str:
    r = client.post(
        "/api/v1/cases",
        json={"number": "2026-XS-0117", "title": "Zhang et al., loan-sharking ring"},
        headers=technician.headers,
    )
    assert r.status_code == 201, r.text
    return "2026-XS-0117"
