"""EWF and split raw intake through the real HTTP app, with images made by ewfacquire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.context import AppContext
from custody.ledger import Action
from tests.api.test_intake import assert_problem, counts
from tests.conftest import Actor
from tests.images.ewfimages import acquire, change_stored_md5, ewfverify, md5sum


def post_file(client: TestClient, actor: Actor, case: str, path: Path, **meta: Any) -> Any:
    files = [
        ("metadata", (None, json.dumps({"case": case, **meta}))),
        ("file", (path.name, path.read_bytes())),
    ]
    return client.post("/api/v1/evidence", files=files, headers=actor.headers)


def test_e01_with_the_imagers_md5_declared_is_accepted_with_media_digests(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path, compression="deflate:best")
    assert len(img.segments) == 1
    passed, stored_md5 = ewfverify(img.segments[0])
    assert passed and stored_md5 == img.md5 == md5sum(img.raw)
    r = post_file(client, technician, case, img.segments[0], declared_digests={"md5": stored_md5})
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["format"] == "ewf"
    container = img.segments[0].read_bytes()
    import hashlib

    assert ev["digests"]["sha256"] == hashlib.sha256(container).hexdigest()
    assert ev["image"]["digests"]["md5"] == md5sum(img.raw)
    assert ev["image"]["digests"]["sha256"] == img.sha256
    assert ev["image"]["stored_digests"] == {"md5": img.md5, "sha1": img.sha1}
    meta = ev["image"]["metadata"]
    assert meta["schema"] == "ewf-header/1"
    assert meta["case_number"] == "2026-XS-0117"
    assert meta["evidence_number"] == "EV-07"
    assert meta["examiner"] == "li.wei"
    assert meta["acquisition_date"]
    assert [p["name"] for p in ev["parts"]] == [img.segments[0].name]
    assert ev["parts"][0]["digests"] == ev["digests"]
    assert ev["image"]["size"] == img.raw.stat().st_size
