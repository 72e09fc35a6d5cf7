"""Resumable intake (issue 15): tus 1.0 core, creation and termination on /api/v1/uploads.

Through the real app with real accounts, database and WORM store: the item exists only
after the last byte, its digests are hashlib's, a wrong declared digest stores nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta
from typing import Any

import blake3
from fastapi.testclient import TestClient

from api.context import AppContext
from api.services import sweep, uploads
from custody.ledger import Action, utc_now
from custody.models import LedgerEntry, UploadSession
from tests.api.test_intake import assert_problem, counts, stored_objects
from tests.conftest import Actor, add_account

TUS = {"Tus-Resumable": "1.0.0"}
DATA = os.urandom(3 * 1024 * 1024 + 12345)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def upload_metadata(case: str, **extra: Any) -> str:
    return "metadata " + b64(json.dumps({"case": case, "filename": "phone.bin", **extra}))


def create(
    client: TestClient, actor: Actor, case: str, length: int = len(DATA), **extra: Any
) -> Any:
    return client.post(
        "/api/v1/uploads",
        headers={
            **actor.headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": upload_metadata(case, **extra),
        },
    )


def patch(client: TestClient, actor: Actor, url: str, offset: int, chunk: bytes) -> Any:
    return client.patch(
        url,
        content=chunk,
        headers={
            **actor.headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def head(client: TestClient, actor: Actor, url: str) -> Any:
    return client.head(url, headers={**actor.headers, **TUS})


def test_upload_in_several_patches_gives_hashlib_digests_and_one_intake_entry(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    before = counts(ctx)
    r = create(client, technician, case, seal_no="FZ-0001")
    assert r.status_code == 201, r.text
    assert r.headers["tus-resumable"] == "1.0.0"
    url = r.headers["location"]
    assert url.startswith("/api/v1/uploads/")
    step = 1024 * 1024
    offset = 0
    while offset + step < len(DATA):
        r = patch(client, technician, url, offset, DATA[offset : offset + step])
        assert r.status_code == 204, r.text
        offset += step
        assert r.headers["upload-offset"] == str(offset)
        assert r.headers["tus-resumable"] == "1.0.0"
        assert counts(ctx)[0] == before[0]  # no item before the last byte
    r = patch(client, technician, url, offset, DATA[offset:])
    assert r.status_code == 200, r.text
    assert r.headers["upload-offset"] == str(len(DATA))
    evidence = r.json()
    assert evidence["size"] == len(DATA)
    assert evidence["digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert evidence["digests"]["md5"] == hashlib.md5(DATA).hexdigest()
    assert evidence["digests"]["blake3"] == blake3.blake3(DATA).hexdigest()
    assert evidence["seal_no"] == "FZ-0001"
    assert evidence["original_filename"] == "phone.bin"
    after = counts(ctx)
    assert after[0] == before[0] + 1
    assert after[2][before[1] :] == [Action.INTAKE]
    assert not uploads.staged_path(ctx, url.rsplit("/", 1)[1]).exists()
    # the upload now says where its item is (for a client whose answer was lost)
    r = head(client, technician, url)
    assert r.status_code == 200
    assert r.headers["upload-offset"] == str(len(DATA))
    assert r.headers["custody-evidence"] == evidence["id"]


def test_plain_tus_metadata_keys_and_declared_sha256_are_accepted(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    data = b"chat export" * 1000
    r = client.post(
        "/api/v1/uploads",
        headers={
            **technician.headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"case {b64(case)},filename {b64('聊天记录.txt')},"
            f"filetype {b64('text/plain')},sha256 {b64(hashlib.sha256(data).hexdigest())}",
        },
    )
    assert r.status_code == 201, r.text
    r = patch(client, technician, r.headers["location"], 0, data)
    assert r.status_code == 200, r.text
    assert r.json()["original_filename"] == "聊天记录.txt"
    assert r.json()["declared_digests"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_head_after_a_partial_patch_answers_the_durable_offset(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    url = create(client, technician, case).headers["location"]
    r = head(client, technician, url)
    assert (r.status_code, r.headers["upload-offset"]) == (200, "0")
    assert r.headers["upload-length"] == str(len(DATA))
    assert r.headers["cache-control"] == "no-store"
    assert patch(client, technician, url, 0, DATA[:700_000]).status_code == 204
    r = head(client, technician, url)
    assert r.headers["upload-offset"] == "700000"
    upload_id = url.rsplit("/", 1)[1]
    assert uploads.staged_path(ctx, upload_id).stat().st_size == 700_000
    with ctx.session() as s:
        row = s.get(UploadSession, upload_id)
        assert row is not None and row.upload_offset == 700_000


def test_bytes_written_after_the_last_fsync_are_cut_off_on_resume(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    """A crash after a write but before its fsync and record: those bytes are not trusted."""
    url = create(client, technician, case).headers["location"]
    assert patch(client, technician, url, 0, DATA[:1000]).status_code == 204
    path = uploads.staged_path(ctx, url.rsplit("/", 1)[1])
    with path.open("ab") as f:
        f.write(b"garbage the server never acknowledged")
    r = patch(client, technician, url, 1000, DATA[1000:])
    assert r.status_code == 200, r.text
    assert r.json()["digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()


def test_offset_mismatch_is_409_and_appends_nothing(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    url = create(client, technician, case).headers["location"]
    assert patch(client, technician, url, 0, DATA[:5000]).status_code == 204
    before = counts(ctx)
    for wrong in (0, 4999, 5001):
        r = patch(client, technician, url, wrong, DATA[wrong : wrong + 100])
        body = assert_problem(r, 409, "upload-offset-mismatch")
        assert body["offset"] == 5000
        assert r.headers["tus-resumable"] == "1.0.0"
    assert head(client, technician, url).headers["upload-offset"] == "5000"
    assert uploads.staged_path(ctx, url.rsplit("/", 1)[1]).stat().st_size == 5000
    assert counts(ctx) == before


def test_wrong_declared_sha256_is_422_records_the_refusal_and_stores_nothing(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    wrong = hashlib.sha256(b"another file").hexdigest()
    r = create(client, technician, case, declared_digests={"sha256": wrong})
    url = r.headers["location"]
    evidence_before, entries_before, _ = counts(ctx)
    assert patch(client, technician, url, 0, DATA[:100_000]).status_code == 204
    r = patch(client, technician, url, 100_000, DATA[100_000:])
    body = assert_problem(r, 422, "digest-mismatch")
    assert body["mismatches"] == [
        {"algorithm": "sha256", "declared": wrong, "computed": hashlib.sha256(DATA).hexdigest()}
    ]
    evidence_after, _, actions = counts(ctx)
    assert evidence_after == evidence_before
    assert actions[entries_before:] == [Action.INTAKE_REFUSED]  # no INTAKE entry
    assert stored_objects(ctx) == []
    assert not uploads.staged_path(ctx, url.rsplit("/", 1)[1]).exists()
    # the upload is over: it takes no more bytes
    assert_problem(patch(client, technician, url, len(DATA), b""), 409, "invalid-state")


def test_bad_metadata_is_refused_at_creation_before_any_byte(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    before = counts(ctx)
    r = create(client, technician, case, declared_digests={"sha256": "nothex"})
    assert_problem(r, 422, "invalid-digest")
    r = create(client, technician, case, colour="red")
    assert_problem(r, 400, "malformed-metadata")
    r = client.post(
        "/api/v1/uploads",
        headers={**technician.headers, **TUS, "Upload-Length": "10", "Upload-Metadata": "case %%"},
    )
    assert_problem(r, 400, "malformed-metadata")
    r = create(client, technician, "NO-SUCH-CASE")
    assert_problem(r, 404, "unknown-case")
    assert counts(ctx)[:2] == before[:2]
    assert not any(ctx.settings.uploads_dir.glob("*.part"))


def test_missing_or_wrong_tus_resumable_is_412(
    client: TestClient, technician: Actor, case: str
) -> None:
    for headers in ({}, {"Tus-Resumable": "0.2.2"}):
        r = client.post(
            "/api/v1/uploads",
            headers={
                **technician.headers,
                **headers,
                "Upload-Length": "10",
                "Upload-Metadata": upload_metadata(case),
            },
        )
        assert_problem(r, 412, "tus-version-unsupported")
        assert r.headers["tus-resumable"] == "1.0.0"
    url = create(client, technician, case).headers["location"]
    r = client.patch(
        url,
        content=b"x",
        headers={
            **technician.headers,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert_problem(r, 412, "tus-version-unsupported")


def test_patch_with_another_content_type_is_415(
    client: TestClient, technician: Actor, case: str
) -> None:
    url = create(client, technician, case).headers["location"]
    r = client.patch(
        url,
        content=b"x",
        headers={
            **technician.headers,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/octet-stream",
        },
    )
    assert_problem(r, 415, "unsupported-media-type")


def test_upload_length_over_the_maximum_is_413_and_recorded(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ctx.settings.max_upload_bytes = 1000
    before = counts(ctx)
    r = create(client, technician, case, length=1001)
    assert_problem(r, 413, "upload-too-large")
    assert counts(ctx)[2][before[1] :] == [Action.INTAKE_REFUSED]


def test_patch_longer_than_upload_length_is_refused(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    url = create(client, technician, case, length=10).headers["location"]
    assert_problem(patch(client, technician, url, 0, b"x" * 11), 400, "invalid-input")
    assert head(client, technician, url).headers["upload-offset"] == "0"


def test_options_says_version_extensions_and_max_size(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    r = client.options("/api/v1/uploads", headers=technician.headers)
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) == {"creation", "termination"}
    assert r.headers["tus-max-size"] == str(ctx.settings.max_upload_bytes)
    assert r.headers["tus-resumable"] == "1.0.0"


def test_account_without_intake_permission_is_refused_and_recorded_as_the_intake_is(
    client: TestClient, ctx: AppContext, admin: Actor, technician: Actor, case: str
) -> None:
    """An administrator (accounts, never evidence) and a prosecutor without a grant: the
    same answer as the raw-body intake gives them, recorded as access.denied."""
    prosecutor = add_account(ctx, "wang.fang", role="prosecutor", department="procuratorate")
    for actor in (admin, prosecutor):
        before = counts(ctx)
        raw = client.post(
            "/api/v1/evidence",
            params={"metadata": json.dumps({"case": case})},
            content=b"x",
            headers={**actor.headers, "Content-Type": "application/octet-stream"},
        )
        assert raw.status_code in (403, 404)
        middle = counts(ctx)
        r = create(client, actor, case)
        assert (r.status_code, r.json()["type"]) == (raw.status_code, raw.json()["type"])
        assert r.headers["tus-resumable"] == "1.0.0"
        after = counts(ctx)
        assert middle[2][before[1] :] == [Action.ACCESS_DENIED]
        assert after[2][middle[1] :] == [Action.ACCESS_DENIED]
    assert not any(ctx.settings.uploads_dir.glob("*.part"))


def test_permission_is_decided_again_on_every_patch(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    url = create(client, technician, case).headers["location"]
    with ctx.session() as s:  # the account is deactivated mid-upload
        from custody.models import Account

        account = s.get(Account, technician.name)
        assert account is not None
        account.active = False
        s.add(account)
        s.commit()
    r = patch(client, technician, url, 0, DATA[:10])
    assert r.status_code in (401, 403), r.text
    assert uploads.staged_path(ctx, url.rsplit("/", 1)[1]).stat().st_size == 0


def test_another_accounts_upload_cannot_be_appended_to_or_deleted(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    other = add_account(ctx, "zhao.lei", role="technician", department="forensics")
    url = create(client, technician, case).headers["location"]
    assert patch(client, technician, url, 0, DATA[:10]).status_code == 204
    assert_problem(patch(client, other, url, 10, DATA[10:20]), 404, "unknown-upload")
    r = client.delete(url, headers={**other.headers, **TUS})
    assert_problem(r, 404, "unknown-upload")
    assert head(client, technician, url).headers["upload-offset"] == "10"


def test_delete_terminates_the_upload_and_removes_its_bytes(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    url = create(client, technician, case).headers["location"]
    assert patch(client, technician, url, 0, DATA[:1000]).status_code == 204
    before = counts(ctx)
    r = client.delete(url, headers={**technician.headers, **TUS})
    assert r.status_code == 204
    assert r.headers["tus-resumable"] == "1.0.0"
    assert not uploads.staged_path(ctx, url.rsplit("/", 1)[1]).exists()
    assert head(client, technician, url).status_code == 404  # HEAD: no body
    assert_problem(patch(client, technician, url, 1000, DATA[1000:]), 404, "unknown-upload")
    assert counts(ctx) == before
    assert stored_objects(ctx) == []


def test_expired_upload_is_swept_recorded_as_abandoned_and_answers_410(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    url = create(client, technician, case, seal_no="S-9").headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    assert patch(client, technician, url, 0, DATA[:4096]).status_code == 204
    fresh = sweep.sweep(ctx)
    assert fresh.uploads_expired == 0
    assert uploads.staged_path(ctx, upload_id).exists()
    with ctx.session() as s:  # the last byte arrived longer ago than the expiry
        row = s.get(UploadSession, upload_id)
        assert row is not None
        row.updated_at = utc_now() - timedelta(seconds=ctx.settings.upload_expiry_seconds + 1)
        s.add(row)
        s.commit()
    assert head(client, technician, url).status_code == 410  # HEAD: no body
    before = counts(ctx)
    report = sweep.sweep(ctx)
    assert report.uploads_expired == 1
    assert report.to_json()["uploads_expired"] == 1
    after = counts(ctx)
    assert after[2][before[1] :] == [Action.UPLOAD_ABANDONED]
    assert after[0] == before[0]
    assert not uploads.staged_path(ctx, upload_id).exists()
    with ctx.session() as s:
        entry = json.loads(s.get(LedgerEntry, before[1]).canonical)  # type: ignore[union-attr]
    assert entry["action"] == Action.UPLOAD_ABANDONED
    assert entry["case"] == case
    details = entry["details"]
    assert details["upload"] == upload_id
    assert details["received"] == 4096
    assert details["seal_no"] == "S-9"
    assert details["uploaded_by"] == technician.name
    assert head(client, technician, url).status_code == 410  # HEAD: no body
    assert_problem(patch(client, technician, url, 4096, DATA[4096:]), 410, "upload-expired")
    assert sweep.sweep(ctx).uploads_expired == 0  # recorded once


def test_a_second_request_on_a_busy_upload_is_409_and_appends_nothing(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    import fcntl

    url = create(client, technician, case).headers["location"]
    path = uploads.staged_path(ctx, url.rsplit("/", 1)[1])
    with path.open("rb") as held:  # as a PATCH in progress holds it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert_problem(patch(client, technician, url, 0, DATA[:10]), 409, "upload-busy")
        with ctx.session() as s:  # idle by its clock, but busy: the sweep leaves it
            row = s.get(UploadSession, url.rsplit("/", 1)[1])
            assert row is not None
            row.updated_at = utc_now() - timedelta(days=30)
            s.add(row)
            s.commit()
        assert uploads.expire(ctx) == 0
    assert path.stat().st_size == 0


def test_completing_twice_does_not_make_a_second_item(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    data = b"one item" * 100
    url = create(client, technician, case, length=len(data)).headers["location"]
    assert patch(client, technician, url, 0, data).status_code == 200
    before = counts(ctx)
    assert_problem(patch(client, technician, url, len(data), b""), 409, "invalid-state")
    assert counts(ctx) == before


def test_upload_resumes_in_a_restarted_app_on_the_same_data_dir(
    ctx: AppContext, technician: Actor, tmp_path: Any
) -> None:
    from api.app import create_app
    from api.context import build_context

    with TestClient(create_app(context=ctx)) as first:
        r = first.post(
            "/api/v1/cases", json={"number": "R-1", "title": "restart"}, headers=technician.headers
        )
        assert r.status_code == 201
        url = create(first, technician, "R-1").headers["location"]
        assert patch(first, technician, url, 0, DATA[:2_000_000]).status_code == 204
    ctx.engine.dispose()
    again = build_context(ctx.settings)
    try:
        with TestClient(create_app(context=again)) as second:
            offset = int(head(second, technician, url).headers["upload-offset"])
            assert offset == 2_000_000
            r = patch(second, technician, url, offset, DATA[offset:])
            assert r.status_code == 200, r.text
            assert r.json()["digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    finally:
        again.engine.dispose()


def test_uppy_style_name_and_type_keys_set_filename_and_content_type(
    client: TestClient, technician: Actor, case: str
) -> None:
    data = b"%PDF-1.7 statement"
    r = client.post(
        "/api/v1/uploads",
        headers={
            **technician.headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"case {b64(case)},name {b64('bank.pdf')},"
            f"type {b64('application/pdf')},filename {b64('bank.pdf')}",
        },
    )
    assert r.status_code == 201, r.text
    r = patch(client, technician, r.headers["location"], 0, data)
    assert r.status_code == 200, r.text
    assert r.json()["original_filename"] == "bank.pdf"
    assert r.json()["content_type"] == "application/pdf"
