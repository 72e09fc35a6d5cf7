"""Intake through the real HTTP app: the happy paths and every bad input of the issue."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from typing import Any

import blake3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.context import AppContext
from custody.ledger import Action
from custody.models import Evidence, LedgerEntry
from tests.conftest import Actor, make_settings

DATA = os.urandom(300_000)


def meta(case: str, **extra: Any) -> str:
    return json.dumps({"case": case, **extra})


def multipart(case: str, data: bytes = DATA, filename: str = "disk.img", **extra: Any) -> Any:
    # A list keeps the order: metadata first, then the file.
    return [("metadata", (None, meta(case, **extra))), ("file", (filename, data))]


def counts(ctx: AppContext) -> tuple[int, int, list[str]]:
    with ctx.session() as s:
        evidence = s.execute(select(func.count()).select_from(Evidence)).scalar_one()
        entries = s.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars().all()
        return evidence, len(entries), [e.action for e in entries]


def stored_objects(ctx: AppContext) -> list[str]:
    root = ctx.settings.data_dir / "store" / "objects"
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".json"))


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:evidence-custody:problem:{code}"
    assert body["detail"]
    return body


def test_multipart_intake_records_every_digest(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    declared = hashlib.sha256(DATA).hexdigest().upper()  # imagers print upper case
    r = client.post(
        "/api/v1/evidence",
        files=multipart(
            case, seal_no="F-0042", declared_digests={"sha256": declared}, algorithms=["sm3"]
        ),
        headers=technician.headers,
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["digests"] == {
        "blake3": blake3.blake3(DATA).hexdigest(),
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "md5": hashlib.md5(DATA).hexdigest(),  # CUSTODY_EXTRA_DIGESTS=md5 in the test settings
        "sm3": hashlib.new("sm3", DATA).hexdigest(),
    }
    assert ev["size"] == len(DATA)
    assert ev["seal_no"] == "F-0042"
    assert ev["declared_digests"] == {"sha256": declared.lower()}
    assert ev["state"]["custodian"] == technician.name
    assert r.headers["location"] == f"/api/v1/evidence/{ev['id']}"
    # The object is content-addressed, read-only, and holds exactly the bytes.
    b3 = ev["digests"]["blake3"]
    path = ctx.settings.data_dir / "store" / f"objects/blake3/{b3[:2]}/{b3[2:4]}/{b3}"
    assert path.read_bytes() == DATA
    assert path.stat().st_mode & 0o777 == 0o444
    # The evidence row and its INTAKE entry were committed together.
    with ctx.session() as s:
        row = s.get(Evidence, ev["id"])
        assert row is not None
        entry = s.get(LedgerEntry, row.intake_seq)
        assert entry is not None and entry.action == Action.INTAKE
        assert json.loads(entry.canonical)["details"]["digests"] == ev["digests"]


def test_raw_streamed_intake(client: TestClient, technician: Actor, case: str) -> None:
    r = client.post(
        "/api/v1/evidence",
        params={"metadata": meta(case, filename="phone.tar", description="提取数据")},
        content=DATA,
        headers={**technician.headers, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["original_filename"] == "phone.tar"
    assert ev["description"] == "提取数据"
    assert ev["digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()


def test_identical_content_is_stored_once_and_referenced_twice(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ids = []
    for name in ("a.img", "b.img"):
        r = client.post(
            "/api/v1/evidence", files=multipart(case, filename=name), headers=technician.headers
        )
        assert r.status_code == 201, r.text
        ids.append(r.json())
    assert ids[0]["id"] != ids[1]["id"]
    assert ids[0]["object_key"] == ids[1]["object_key"]
    assert len(stored_objects(ctx)) == 1


def test_zero_byte_file_is_valid_evidence(client: TestClient, technician: Actor, case: str) -> None:
    r = client.post("/api/v1/evidence", files=multipart(case, data=b""), headers=technician.headers)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["size"] == 0
    assert ev["digests"]["sha256"] == hashlib.sha256(b"").hexdigest()
    assert ev["digests"]["blake3"] == blake3.blake3(b"").hexdigest()


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a/b/c.img", "evil\r\n.img", "..", "C:\\x\\y.img"]
)
def test_unsafe_filename_is_kept_but_never_used_as_a_path(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, name: str
) -> None:
    # The name travels in the metadata JSON, which can carry any character (NUL included).
    files = [("metadata", (None, meta(case, filename=name))), ("file", ("x", DATA))]
    r = client.post("/api/v1/evidence", files=files, headers=technician.headers)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["original_filename"] == name
    data_dir = ctx.settings.data_dir.resolve()
    for path in ctx.settings.data_dir.rglob("*"):
        assert path.resolve().is_relative_to(data_dir)
        assert "passwd" not in path.name
    dl = client.get(
        f"/api/v1/evidence/{ev['id']}/content",
        params={"purpose": "check"},
        headers=technician.headers,
    )
    assert dl.status_code == 200
    disposition = dl.headers["content-disposition"]
    assert "/" not in disposition.split("filename*=")[0] and "\x00" not in disposition
    assert dl.content == DATA


def test_unknown_case_changes_nothing(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    before = counts(ctx)
    r = client.post("/api/v1/evidence", files=multipart("NO-SUCH-CASE"), headers=technician.headers)
    assert_problem(r, 404, "unknown-case")
    assert counts(ctx) == before
    assert stored_objects(ctx) == []


@pytest.mark.parametrize(
    "raw",
    ["{not json", "[1, 2]", '{"case": 5}', '{"case": "X", "surprise": 1}', '{"description": "x"}'],
)
def test_malformed_metadata_changes_nothing(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, raw: str
) -> None:
    before = counts(ctx)
    r = client.post(
        "/api/v1/evidence",
        files=[("metadata", (None, raw)), ("file", ("x.img", DATA))],
        headers=technician.headers,
    )
    body = assert_problem(r, 400, "malformed-metadata")
    assert "metadata" in body["detail"]
    assert counts(ctx) == before
    assert stored_objects(ctx) == []


@pytest.mark.parametrize(
    ("algo", "value", "hint"),
    [("sha256", "abc", "64"), ("sha256", "z" * 64, "hexadecimal"), ("md5", "0" * 31, "32")],
)
def test_declared_digest_of_wrong_form_changes_nothing(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    algo: str,
    value: str,
    hint: str,
) -> None:
    before = counts(ctx)
    r = client.post(
        "/api/v1/evidence",
        files=multipart(case, declared_digests={algo: value}),
        headers=technician.headers,
    )
    body = assert_problem(r, 422, "invalid-digest")
    assert hint in body["detail"]
    assert counts(ctx) == before
    assert stored_objects(ctx) == []


def test_declared_digest_mismatch_is_refused_and_recorded(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    evidence_before, entries_before, _ = counts(ctx)
    r = client.post(
        "/api/v1/evidence",
        files=multipart(case, declared_digests={"sha256": wrong}),
        headers=technician.headers,
    )
    body = assert_problem(r, 422, "digest-mismatch")
    assert body["mismatches"] == [
        {"algorithm": "sha256", "declared": wrong, "computed": hashlib.sha256(DATA).hexdigest()}
    ]
    evidence_after, entries_after, actions = counts(ctx)
    assert evidence_after == evidence_before
    # the refusal, then the stored (unlocked) object registered as unreferenced
    assert entries_after == entries_before + 2
    assert actions[-2:] == [Action.INTAKE_REFUSED, Action.OBJECT_UNREFERENCED]
    with ctx.session() as s:
        refusal = json.loads(s.get(LedgerEntry, entries_after - 2).canonical)  # type: ignore[union-attr]
        orphan = json.loads(s.get(LedgerEntry, entries_after - 1).canonical)  # type: ignore[union-attr]
    assert orphan["details"]["digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert refusal["details"]["declared_digests"] == {"sha256": wrong}
    assert refusal["details"]["computed_digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    # At worst an unreferenced, immutable blob remains; no evidence row points at it.
    with ctx.session() as s:
        assert s.execute(select(func.count()).select_from(Evidence)).scalar_one() == 0


def test_request_without_file_part(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    before = counts(ctx)
    r = client.post(
        "/api/v1/evidence",
        files=[("metadata", (None, meta(case))), ("other", ("x", b"123"))],
        headers=technician.headers,
    )
    body = assert_problem(r, 400, "missing-file")
    assert "'file'" in body["detail"]
    assert counts(ctx) == before


def test_metadata_after_file_is_refused_before_storing(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    r = client.post(
        "/api/v1/evidence",
        files=[("file", ("x.img", DATA)), ("metadata", (None, meta(case)))],
        headers=technician.headers,
    )
    body = assert_problem(r, 400, "malformed-metadata")
    assert "before" in body["detail"]
    assert stored_objects(ctx) == []


def test_body_larger_than_limit_is_413(tmp_path: Any, technician_factory: Any = None) -> None:
    from api.context import build_context
    from tests.conftest import add_account

    ctx = build_context(make_settings(tmp_path, max_upload_bytes=100_000))
    tech = add_account(ctx, "tech", role="technician", department="lab")
    with TestClient(create_app(context=ctx)) as client:
        assert (
            client.post(
                "/api/v1/cases", json={"number": "C1", "title": "t"}, headers=tech.headers
            ).status_code
            == 201
        )
        before = counts(ctx)
        # Declared length over the limit: refused before reading.
        r = client.post(
            "/api/v1/evidence",
            params={"metadata": meta("C1")},
            content=DATA,
            headers={**tech.headers, "Content-Type": "application/octet-stream"},
        )
        assert_problem(r, 413, "upload-too-large")
        # Chunked (no length): refused while streaming, nothing referenced left behind.
        r = client.post(
            "/api/v1/evidence",
            params={"metadata": meta("C1")},
            content=iter([DATA[i : i + 65536] for i in range(0, len(DATA), 65536)]),
            headers={**tech.headers, "Content-Type": "application/octet-stream"},
        )
        assert_problem(r, 413, "upload-too-large")
        evidence, _entries, actions = counts(ctx)
        assert evidence == before[0]
        assert actions[-2:] == [Action.INTAKE_REFUSED, Action.INTAKE_REFUSED]
        assert stored_objects(ctx) == []
    ctx.engine.dispose()


def test_client_disconnect_mid_upload_records_no_evidence(
    ctx: AppContext, technician: Actor, case: str
) -> None:
    """Drive the ASGI app directly: half a body, then the client goes away."""
    app = create_app(context=ctx)
    before = counts(ctx)
    query = "metadata=" + json.dumps({"case": case}).replace(" ", "")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/evidence",
        "raw_path": b"/api/v1/evidence",
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            (b"authorization", f"Bearer {technician.token}".encode()),
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(DATA)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    messages = [
        {"type": "http.request", "body": DATA[:100_000], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    evidence, _entries, actions = counts(ctx)
    assert evidence == before[0]
    assert Action.INTAKE not in actions[before[1] :]
    assert stored_objects(ctx) == []
    staging = ctx.settings.data_dir / "store" / ".staging"
    assert [p for p in staging.iterdir() if p.name.startswith("upload-")] == []


def test_no_endpoint_but_health_answers_without_a_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    for method, path in [
        ("GET", "/api/v1/cases"),
        ("POST", "/api/v1/cases"),
        ("POST", "/api/v1/evidence"),
        ("GET", "/api/v1/evidence/x"),
        ("GET", "/api/v1/ledger/checkpoint"),
    ]:
        r = client.request(method, path)
        assert_problem(r, 401, "authentication-required")
    r = client.get("/api/v1/cases", headers={"Authorization": "Bearer cst_forged"})
    assert_problem(r, 401, "authentication-required")
