"""EWF and split raw intake through the real HTTP app, with images made by ewfacquire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def open_session(client: TestClient, actor: Actor, case: str, **meta: Any) -> str:
    r = client.post("/api/v1/intake-sessions", json={"case": case, **meta}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put_part(client: TestClient, actor: Actor, sid: str, index: int, path: Path) -> Any:
    return client.put(
        f"/api/v1/intake-sessions/{sid}/parts/{index}",
        params={"name": path.name},
        content=path.read_bytes(),
        headers={**actor.headers, "Content-Type": "application/octet-stream"},
    )


def test_a_segmented_e01_is_one_item_with_ordered_parts(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path, segment_size="1MiB", compression="deflate:fast", size=8 * 1024 * 1024)
    assert len(img.segments) >= 3
    assert ewfverify(img.segments[0]) == (True, md5sum(img.raw))
    sid = open_session(client, technician, case, declared_digests={"md5": img.md5})
    # parts may arrive in any order; a re-send of the same bytes is answered as before
    for index in reversed(range(1, len(img.segments) + 1)):
        assert put_part(client, technician, sid, index, img.segments[index - 1]).status_code == 201
    again = put_part(client, technician, sid, 1, img.segments[0])
    assert again.status_code == 200
    state = client.get(f"/api/v1/intake-sessions/{sid}", headers=technician.headers).json()
    assert [p["index"] for p in state["parts"]] == list(range(1, len(img.segments) + 1))
    assert state["missing"] == []
    before, _, _ = counts(ctx)
    r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=technician.headers)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert counts(ctx)[0] == before + 1  # one item
    assert ev["format"] == "ewf"
    assert [p["name"] for p in ev["parts"]] == [p.name for p in img.segments]
    import hashlib

    for part, path in zip(ev["parts"], img.segments, strict=True):
        assert part["digests"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    joined = b"".join(p.read_bytes() for p in img.segments)
    assert ev["digests"]["sha256"] == hashlib.sha256(joined).hexdigest()
    assert ev["size"] == len(joined)
    assert ev["image"]["digests"]["md5"] == md5sum(img.raw)
    assert ev["image"]["digests"]["sha256"] == img.sha256
    closed = client.get(f"/api/v1/intake-sessions/{sid}", headers=technician.headers).json()
    assert closed["state"] == "completed" and closed["evidence"] == ev["id"]


def test_a_missing_segment_is_refused_and_the_session_stays_open(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path, segment_size="1MiB")
    sid = open_session(client, technician, case)
    put_part(client, technician, sid, 1, img.segments[0])
    put_part(client, technician, sid, 3, img.segments[2])
    r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=technician.headers)
    body = assert_problem(r, 422, "segment-missing")
    assert "part 2 is missing" in body["detail"] and "container" in body["detail"]
    # the last segment removed: part 2 ends with 'next'
    put_part(client, technician, sid, 2, img.segments[1])
    if len(img.segments) > 3:
        r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=technician.headers)
        assert_problem(r, 422, "segment-missing")
    for index in range(4, len(img.segments) + 1):
        put_part(client, technician, sid, index, img.segments[index - 1])
    r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=technician.headers)
    assert r.status_code == 201, r.text
    _, _, actions = counts(ctx)
    assert Action.INTAKE_REFUSED in actions


def test_swapped_segments_are_refused_naming_the_part(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path, segment_size="1MiB")
    sid = open_session(client, technician, case)
    r = put_part(client, technician, sid, 1, img.segments[1])
    body = assert_problem(r, 422, "segment-out-of-order")
    assert f"part 1 ({img.segments[1].name}) holds segment 2" in body["detail"]


def test_last_segment_missing_is_refused(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path, segment_size="1MiB")
    sid = open_session(client, technician, case)
    for index, path in enumerate(img.segments[:-1], start=1):
        put_part(client, technician, sid, index, path)
    r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=technician.headers)
    body = assert_problem(r, 422, "segment-missing")
    assert "ends with a 'next' section" in body["detail"]


def test_a_changed_stored_hash_is_refused_and_recorded(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path)
    forged = change_stored_md5(img.segments[0])
    passed, stored = ewfverify(img.segments[0])
    assert not passed and stored == forged
    before = counts(ctx)
    r = post_file(client, technician, case, img.segments[0])
    body = assert_problem(r, 422, "stored-digest-mismatch")
    assert body["detail"].startswith("media:") and img.segments[0].name in body["detail"]
    after = counts(ctx)
    assert after[0] == before[0]
    assert Action.INTAKE_REFUSED in after[2][before[1] :]


def test_a_declared_container_hash_is_refused_with_the_hint(
    client: TestClient, technician: Actor, case: str, tmp_path: Path
) -> None:
    import hashlib

    img = acquire(tmp_path)
    container = hashlib.md5(img.segments[0].read_bytes()).hexdigest()
    r = post_file(client, technician, case, img.segments[0], declared_digests={"md5": container})
    body = assert_problem(r, 422, "digest-mismatch")
    assert "describe the media" in body["detail"]
    r = post_file(
        client,
        technician,
        case,
        img.segments[0],
        declared_digests={"md5": img.md5},
        declared_container_digests={"md5": container},
    )
    assert r.status_code == 201, r.text


def test_split_raw_parts_are_one_raw_item_whose_media_is_md5sum(
    client: TestClient, technician: Actor, case: str, tmp_path: Path
) -> None:
    from tests.images.ewfimages import make_raw

    raw = make_raw(tmp_path / "disk.raw", 3 * 1024 * 1024)
    data = raw.read_bytes()
    parts = []
    for i in range(3):
        p = tmp_path / f"disk.{i + 1:03d}"
        p.write_bytes(data[i * 1024 * 1024 : (i + 1) * 1024 * 1024])
        parts.append(p)
    sid = open_session(client, technician, case, declared_digests={"md5": md5sum(raw)})
    for i, p in enumerate(parts, start=1):
        assert put_part(client, technician, sid, i, p).status_code == 201
    r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=technician.headers)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["format"] == "raw"
    assert ev["image"]["digests"]["md5"] == md5sum(raw)
    assert ev["digests"] == ev["image"]["digests"]
    assert len(ev["parts"]) == 3


def test_duplicates_are_recorded_with_a_warning_naming_the_item(
    client: TestClient, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path)
    first = post_file(client, technician, case, img.segments[0])
    assert first.status_code == 201 and first.json()["warnings"] == []
    # the raw disk taken in as a plain file: its content equals the E01's media
    again = post_file(client, technician, case, img.raw)
    assert again.status_code == 201, again.text
    warning = again.json()["warnings"][0]
    assert warning["code"] == "duplicate-content"
    assert warning["evidence"] == first.json()["id"] and first.json()["id"] in warning["message"]
    assert again.json()["duplicate_of"] == [
        {"evidence": first.json()["id"], "level": "container = media"}
    ]


def test_a_derived_item_names_its_parent_on_both_histories(
    client: TestClient, technician: Actor, case: str, tmp_path: Path
) -> None:
    img = acquire(tmp_path)
    parent = post_file(client, technician, case, img.segments[0]).json()["id"]
    doc = tmp_path / "report.docx"
    doc.write_bytes(b"exported by Autopsy")
    path = "/Users/zhang/Documents/report.docx"
    r = post_file(client, technician, case, doc, parent={"evidence": parent, "path": path})
    assert r.status_code == 201, r.text
    child = r.json()
    assert child["derived_from"] == {"evidence": parent, "path": path}
    history = client.get(f"/api/v1/evidence/{parent}/custody", headers=technician.headers).json()
    derived = [e["entry"] for e in history["entries"] if e["entry"]["action"] == Action.DERIVED]
    assert derived and derived[0]["details"]["derived"] == child["id"]
    assert derived[0]["details"]["path"] == path


def test_case_report_names_the_image_levels_and_the_lineage(
    client: TestClient, technician: Actor, case: str, tmp_path: Path
) -> None:
    import base64

    from custody.case_report import parse_case_report
    from tests.poppler import pdftotext

    img = acquire(tmp_path)
    parent = post_file(client, technician, case, img.segments[0]).json()
    doc = tmp_path / "chat.db"
    doc.write_bytes(b"carved by Autopsy")
    path = "/data/data/com.tencent.mm/MicroMsg/chat.db"
    child = post_file(
        client, technician, case, doc, parent={"evidence": parent["id"], "path": path}
    )
    assert child.status_code == 201, child.text
    r = client.post(
        f"/api/v1/cases/{case}/exports", json={"purpose": "court"}, headers=technician.headers
    )
    assert r.status_code == 200, r.text
    signed = r.json()["case_report"]
    report = parse_case_report(base64.b64decode(signed["json"]))
    image_item, derived_item = report.items
    assert image_item.format == "ewf"
    assert image_item.parts == [img.segments[0].name]
    assert image_item.media_digests["md5"] == md5sum(img.raw)
    assert image_item.stored_digests["md5"] == img.md5
    assert derived_item.format == "file" and derived_item.parts == []
    assert derived_item.derived_from == {"evidence": parent["id"], "path": path}
    pdf = tmp_path / "case-report.pdf"
    pdf.write_bytes(base64.b64decode(signed["pdf"]))
    text = pdftotext(pdf)
    assert "Derived from" in text and path in text
    assert "media" in text and md5sum(img.raw) in text.replace("\n", "")
