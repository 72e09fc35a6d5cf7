"""The API on the S3 Object Lock backend, against a real SeaweedFS server."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.context import AppContext, build_context
from custody.ledger import Action, utc_now
from custody.models import Evidence, LedgerEntry
from tests.conftest import Actor, add_account, make_s3_settings
from tests.seaweed import SeaweedS3

pytestmark = pytest.mark.s3

DATA = os.urandom(6 * 1024 * 1024 + 77)  # several parts


@pytest.fixture
def s3_ctx(tmp_path: Path, seaweed_s3: SeaweedS3) -> Iterator[AppContext]:
    settings = make_s3_settings(tmp_path, seaweed_s3, s3_part_size=5 * 1024 * 1024)
    ctx = build_context(settings)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def s3_client(s3_ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=s3_ctx)) as c:
        yield c


@pytest.fixture
def tech(s3_ctx: AppContext, s3_client: TestClient) -> Actor:
    actor = add_account(s3_ctx, "li.wei", role="technician", department="forensics")
    r = s3_client.post(
        "/api/v1/cases", json={"number": "C-S3", "title": "s3"}, headers=actor.headers
    )
    assert r.status_code == 201, r.text
    return actor


def intake(client: TestClient, actor: Actor, data: bytes = DATA) -> Any:
    return client.post(
        "/api/v1/evidence",
        params={"metadata": json.dumps({"case": "C-S3", "filename": "disk.img"})},
        content=data,
        headers={**actor.headers, "Content-Type": "application/octet-stream"},
    )


def test_intake_leaves_the_object_under_compliance_retention(
    s3_client: TestClient, s3_ctx: AppContext, tech: Actor, seaweed_s3: SeaweedS3
) -> None:
    r = intake(s3_client, tech)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["object_version"]  # the version is pinned
    # A direct S3 call, not our code, shows the lock.
    raw = seaweed_s3.client()
    bucket = s3_ctx.settings.s3_bucket
    retention = raw.get_object_retention(bucket, ev["object_key"], version_id=ev["object_version"])
    assert retention is not None and retention.mode == "COMPLIANCE"
    expected = utc_now() + timedelta(days=s3_ctx.settings.retention_days)
    assert abs((retention.retain_until_date - expected).total_seconds()) < 120
    data = raw.get_object(bucket, ev["object_key"], version_id=ev["object_version"])
    try:
        assert data.read() == DATA
    finally:
        data.close()
        data.release_conn()


def test_attack_object_replaced_behind_our_back_is_named_by_verification(
    s3_client: TestClient, s3_ctx: AppContext, tech: Actor, seaweed_s3: SeaweedS3
) -> None:
    ev = intake(s3_client, tech).json()
    forged = b"forged content"
    seaweed_s3.client().put_object(
        s3_ctx.settings.s3_bucket, ev["object_key"], io.BytesIO(forged), len(forged)
    )
    r = s3_client.post(f"/api/v1/evidence/{ev['id']}/verifications", headers=tech.headers)
    body = r.json()
    assert body["result"] == "fail"
    findings = " | ".join(body["report"]["findings"])
    assert "newer version" in findings and "behind our back" in findings
    # The pinned version still holds the evidence, and its digests still match.
    assert all(d["match"] for d in body["report"]["digests"])


def test_legal_hold_reaches_the_object(
    s3_client: TestClient, s3_ctx: AppContext, tech: Actor, seaweed_s3: SeaweedS3
) -> None:
    ev = intake(s3_client, tech).json()
    r = s3_client.post(
        f"/api/v1/evidence/{ev['id']}/legal-hold",
        json={"on": True, "reason": "appeal"},
        headers=tech.headers,
    )
    assert r.status_code == 200, r.text
    raw = seaweed_s3.client()
    assert raw.is_object_legal_hold_enabled(
        s3_ctx.settings.s3_bucket, ev["object_key"], version_id=ev["object_version"]
    )


def test_storage_stopped_mid_intake_gives_503_and_records_nothing(
    s3_client: TestClient, s3_ctx: AppContext, tech: Actor, seaweed_s3: SeaweedS3
) -> None:
    with s3_ctx.session() as s:
        before_entries = s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()

    def body() -> Iterator[bytes]:
        yield DATA[: 1024 * 1024]
        seaweed_s3.stop()  # the storage goes away while the upload is streaming
        for i in range(1024 * 1024, len(DATA), 1024 * 1024):
            yield DATA[i : i + 1024 * 1024]

    try:
        r = s3_client.post(
            "/api/v1/evidence",
            params={"metadata": json.dumps({"case": "C-S3"})},
            content=body(),
            headers={**tech.headers, "Content-Type": "application/octet-stream"},
        )
    finally:
        seaweed_s3.start()
    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("storage-unavailable")
    with s3_ctx.session() as s:
        assert s.execute(select(func.count()).select_from(Evidence)).scalar_one() == 0
        actions = [
            e.action
            for e in s.execute(
                select(LedgerEntry).where(LedgerEntry.seq >= before_entries)
            ).scalars()
        ]
    assert Action.INTAKE not in actions
    # And once storage is back, the same intake succeeds.
    assert intake(s3_client, tech).status_code == 201


def test_resumable_tus_upload_is_taken_in_on_the_s3_backend(
    s3_client: TestClient, s3_ctx: AppContext, tech: Actor
) -> None:
    """The staged file goes to the object store through the intake's own path."""
    import base64
    import hashlib

    from api.services import uploads

    tus = {**tech.headers, "Tus-Resumable": "1.0.0"}
    meta = base64.b64encode(json.dumps({"case": "C-S3", "filename": "disk.img"}).encode())
    r = s3_client.post(
        "/api/v1/uploads",
        headers={
            **tus,
            "Upload-Length": str(len(DATA)),
            "Upload-Metadata": f"metadata {meta.decode()}",
        },
    )
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    half = len(DATA) // 2
    for offset, chunk in ((0, DATA[:half]), (half, DATA[half:])):
        r = s3_client.patch(
            url,
            content=chunk,
            headers={
                **tus,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert r.status_code in (200, 204), r.text
    assert r.status_code == 200
    ev = r.json()
    assert ev["storage"] == "s3"
    assert ev["digests"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert not uploads.staged_path(s3_ctx, url.rsplit("/", 1)[1]).exists()
