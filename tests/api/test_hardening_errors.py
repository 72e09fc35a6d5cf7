"""Issue 10, finding 1 (bare 500s): every fault gets problem JSON, bad input a 400 that
changes nothing, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.context import AppContext, build_context
from api.deps import SessionDep
from api.streaming import MultipartIntakeReader
from custody.ledger import Action
from tests.api.test_intake import counts, stored_objects
from tests.conftest import Actor, add_account, free_port, make_settings

DATA = b"seized phone image " * 1000


@dataclass
class Service:
    ctx: AppContext
    client: TestClient
    tech: Actor
    case: str

    def state(self) -> tuple[int, int, list[str]]:
        return counts(self.ctx)


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[Service]:
    """The real app on a real database (both dialects), a technician and a case."""
    ctx = build_context(make_settings(tmp_path, database_url=database_url))
    tech = add_account(ctx, "li.wei", role="technician", department="forensics")
    with TestClient(create_app(context=ctx)) as client:
        r = client.post(
            "/api/v1/cases", json={"number": "F-1", "title": "fraud"}, headers=tech.headers
        )
        assert r.status_code == 201, r.text
        yield Service(ctx=ctx, client=client, tech=tech, case="F-1")
    ctx.engine.dispose()


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:evidence-custody:problem:{code}"
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def intake_files(case: str, data: bytes = DATA, **meta: Any) -> list[Any]:
    return [("metadata", (None, json.dumps({"case": case, **meta}))), ("file", ("a.bin", data))]


# --- unexpected exceptions ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_finding1_unexpected_exception_is_problem_json_with_a_logged_request_id(
    ctx: AppContext, technician: Actor, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    app = create_app(context=ctx)

    @app.get("/test/boom-sync")
    def boom_sync() -> None:
        raise RuntimeError("sync route fault")

    @app.get("/test/boom-async")
    async def boom_async() -> None:
        raise RuntimeError("async route fault")

    caplog.set_level(logging.INFO)
    with TestClient(app) as client:
        r = client.get(f"/test/boom-{kind}", headers=technician.headers)
    body = assert_problem(r, 500, "internal-error")
    assert body["request_id"] in body["detail"]
    assert "fault" not in body["detail"]  # internals stay in the log
    record = next(rec for rec in caplog.records if body["request_id"] in rec.getMessage())
    assert record.exc_info is not None and f"{kind} route fault" in str(record.exc_info[1])
    assert technician.token not in caplog.text


def test_finding1_sql_error_is_logged_without_its_parameters(
    ctx: AppContext, technician: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing statement's parameters (here a token) never reach the log."""
    app = create_app(context=ctx)
    secret = technician.token

    @app.get("/test/bad-sql")
    def bad_sql(session: SessionDep) -> None:
        session.execute(text("SELECT :secret FROM no_such_table"), {"secret": secret})

    caplog.set_level(logging.INFO)
    with TestClient(app) as client:
        r = client.get("/test/bad-sql")
    body = assert_problem(r, 500, "internal-error")
    assert body["request_id"] in caplog.text and "no_such_table" in caplog.text
    assert secret not in caplog.text


def test_finding1_fault_while_streaming_a_request_body_is_problem_json(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error inside the multipart reader (a worker thread pulling the body)."""
    original = MultipartIntakeReader._on_part_data

    def failing(self: MultipartIntakeReader, data: bytes, start: int, end: int) -> None:
        if self._part_name == "file":
            raise RuntimeError("injected fault while reading the file part")
        original(self, data, start, end)

    monkeypatch.setattr(MultipartIntakeReader, "_on_part_data", failing)
    before = service.state()
    r = service.client.post(
        "/api/v1/evidence", files=intake_files(service.case), headers=service.tech.headers
    )
    assert_problem(r, 500, "internal-error")
    assert service.state() == before
    assert stored_objects(service.ctx) == []


def test_finding1_error_in_a_middleware_is_problem_json(
    ctx: AppContext, technician: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside the exception handlers: the boundary answers, never Starlette's text/plain."""

    def broken(path: str, query: bytes) -> None:
        raise RuntimeError("guard bug")

    monkeypatch.setattr("api.input_guard.check_target", broken)
    with TestClient(create_app(context=ctx)) as client:
        r = client.get("/api/v1/cases", headers=technician.headers)
    assert_problem(r, 500, "internal-error")


def test_finding1_every_response_carries_a_request_id(
    client: TestClient, technician: Actor
) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    r = client.get("/api/v1/cases", headers=technician.headers)
    assert r.status_code == 200 and r.headers["x-request-id"]


# --- database unreachable ------------------------------------------------------------------


def unreachable_url(dialect: str, tmp_path: Path) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-dir' / 'custody.db'}"
    return f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=5"


def test_finding1_database_unreachable_is_503_database_unavailable(
    service: Service, tmp_path: Path
) -> None:
    dialect = service.ctx.engine.dialect.name
    down = dataclasses.replace(
        service.ctx, engine=create_engine(unreachable_url(dialect, tmp_path))
    )
    with TestClient(create_app(context=down)) as client:
        for method, path, kwargs in (
            ("GET", "/api/v1/cases", {}),
            ("POST", "/api/v1/cases", {"json": {"number": "F-2", "title": "x"}}),
            ("POST", "/api/v1/evidence", {"files": intake_files(service.case)}),
        ):
            r = client.request(method, path, headers=service.tech.headers, **kwargs)
            body = assert_problem(r, 503, "database-unavailable")
            assert "nothing was changed" in body["detail"]
    down.engine.dispose()
    assert stored_objects(service.ctx) == []


# --- bad input: refused at validation, before anything is stored ----------------------


@pytest.mark.parametrize(
    "body",
    [
        b"garbage, not multipart at all",
        b'--xyz\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n--xyz--\r\n',
        b"--BOUNDARY\r\n\x00\x01\x02 broken headers\r\n\r\n",
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
        b"\r\nabc\r\n--BOUNDARY\r\n\xff\xfe",
    ],
    ids=["no-parts", "wrong-boundary", "broken-headers", "broken-after-file"],
)
def test_finding1_garbage_multipart_body_is_400_and_changes_nothing(
    service: Service, body: bytes
) -> None:
    before = service.state()
    r = service.client.post(
        "/api/v1/evidence",
        content=body,
        headers={
            **service.tech.headers,
            "Content-Type": "multipart/form-data; boundary=BOUNDARY",
        },
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].rsplit(":", 1)[1] in {
        "malformed-multipart",
        "missing-file",
        "malformed-metadata",
    }
    assert service.state() == before
    assert stored_objects(service.ctx) == []


def test_finding1_garbage_multipart_names_the_problem(service: Service) -> None:
    r = service.client.post(
        "/api/v1/evidence",
        content=b"--BOUNDARY\r\n\x00\x01\x02 broken headers\r\n\r\n",
        headers={
            **service.tech.headers,
            "Content-Type": "multipart/form-data; boundary=BOUNDARY",
        },
    )
    assert_problem(r, 400, "malformed-multipart")


def deep(levels: int) -> str:
    return '{"case": "F-1", "media": {"x": ' + "[" * levels + "]" * levels + "}}"


@pytest.mark.parametrize("levels", [100_000, 40])
def test_finding1_deeply_nested_metadata_is_400_with_the_depth_limit(
    service: Service, levels: int
) -> None:
    before = service.state()
    multipart = [("metadata", (None, deep(levels))), ("file", ("a.bin", DATA))]
    r = service.client.post("/api/v1/evidence", files=multipart, headers=service.tech.headers)
    body = assert_problem(r, 400, "malformed-metadata")
    assert "32" in body["detail"]
    # The raw-body form carries the metadata in the query string.
    r = service.client.post(
        "/api/v1/evidence",
        params={"metadata": deep(min(levels, 2000))},
        content=DATA,
        headers={**service.tech.headers, "Content-Type": "application/octet-stream"},
    )
    assert "32" in assert_problem(r, 400, "malformed-metadata")["detail"]
    # A JSON request body is held to the same limit.
    r = service.client.post(
        "/api/v1/cases",
        content=deep(levels),
        headers={**service.tech.headers, "Content-Type": "application/json"},
    )
    assert "32" in assert_problem(r, 400, "malformed-json")["detail"]
    assert service.state() == before
    assert stored_objects(service.ctx) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/evidence/abc%00def",
        "/api/v1/evidence/abc%00def/content?purpose=x",
        "/api/v1/cases/F%00-1",
        "/api/v1/cases/F-1%0A",
        "/api/v1/cases/F%00-1/evidence",
        "/api/v1/cases?x=%00",
        "/api/v1/evidence/abc/content?purpose=a%00b",
    ],
)
def test_finding1_nul_and_control_characters_in_a_path_are_400(service: Service, path: str) -> None:
    before = service.state()
    r = service.client.get(path, headers=service.tech.headers)
    assert_problem(r, 400, "invalid-characters")
    assert service.state() == before


def test_finding1_nul_in_the_transfer_recipient_is_400(service: Service) -> None:
    r = service.client.post(
        "/api/v1/evidence", files=intake_files(service.case), headers=service.tech.headers
    )
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    before = service.state()
    for to in ("wang\x00fang", "wang\nfang", "Wang Fang"):
        r = service.client.post(
            f"/api/v1/evidence/{evidence_id}/transfers",
            json={"to": to, "reason": "handover"},
            headers=service.tech.headers,
        )
        assert r.status_code == 400, r.text
        assert r.json()["type"].rsplit(":", 1)[1] in {"malformed-json", "request-validation"}
    assert service.state() == before


@pytest.mark.parametrize(
    "meta",
    [
        {"filename": "disk\x00.img"},
        {"description": "seized\x00 at 10:00"},
        {"description": "bell\x07"},
        {"seal_no": "F-7\x00"},
        {"seal_no": "F-7\n"},
        {"content_type": "application/x\x00"},
        {"content_type": "x" * 256},
        {"media": {"serial": "S\x00N"}},
        {"media": {"serial": "SN\x1b[31m"}},
        {"media": {"ser\x00ial": "SN"}},
        {"case": "F-1\x00"},
    ],
)
def test_finding1_nul_or_control_character_in_intake_metadata_is_refused_before_storing(
    service: Service, meta: dict[str, Any]
) -> None:
    """On PostgreSQL a NUL here used to fail at commit, after the object was stored and locked."""
    before = service.state()
    fields = {"case": service.case, **meta}
    files = [("metadata", (None, json.dumps(fields))), ("file", ("a.bin", DATA))]
    r = service.client.post("/api/v1/evidence", files=files, headers=service.tech.headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert service.state() == before
    assert stored_objects(service.ctx) == []


def test_finding1_nul_in_the_file_part_header_is_refused_before_storing(
    service: Service,
) -> None:
    meta = json.dumps({"case": service.case}).encode()
    body = (
        b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        + meta
        + b'\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a\x00b"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + DATA + b"\r\n--B--\r\n"
    )
    before = service.state()
    r = service.client.post(
        "/api/v1/evidence",
        content=body,
        headers={**service.tech.headers, "Content-Type": "multipart/form-data; boundary=B"},
    )
    assert_problem(r, 400, "invalid-characters")
    assert service.state() == before
    assert stored_objects(service.ctx) == []


def test_finding1_control_characters_kept_where_a_field_allows_them(service: Service) -> None:
    """Descriptions may span lines; original filenames are kept verbatim (CR/LF included)."""
    files = intake_files(
        service.case, description="line one\r\nline two\ttabbed", filename="scan\r\n1.img"
    )
    r = service.client.post("/api/v1/evidence", files=files, headers=service.tech.headers)
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "line one\r\nline two\ttabbed"
    assert r.json()["original_filename"] == "scan\r\n1.img"
    _, _, actions = service.state()
    assert actions[-1] == Action.INTAKE


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/ledger/checkpoints/99999999999999999999999", {}),
        (f"/api/v1/ledger/checkpoints/{2**63}", {}),  # one past BIGINT
        ("/api/v1/ledger/proofs/inclusion", {"index": "0", "size": str(2**64)}),
        ("/api/v1/ledger/proofs/consistency", {"first": "1", "second": str(2**63)}),
    ],
)
def test_finding1_numbers_too_large_for_the_database_are_400(
    service: Service, path: str, params: dict[str, str]
) -> None:
    """SQLite cannot bind them and PostgreSQL refused them: both answered 500."""
    r = service.client.get(path, params=params, headers=service.tech.headers)
    assert_problem(r, 400, "request-validation")


def test_finding1_a_page_of_entries_at_the_largest_index_is_empty_not_500(
    service: Service, tmp_path: Path
) -> None:
    """The page end (start + 1000) must not overflow what the database can bind."""
    auditor = add_account(service.ctx, "audit", role="auditor", department="oversight")
    r = service.client.get(
        "/api/v1/ledger/entries", params={"start": str(2**63 - 1)}, headers=auditor.headers
    )
    assert r.status_code == 200, r.text
    assert r.json() == []
