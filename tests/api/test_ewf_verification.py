"""Attacks on stored images: each fails verification naming the part and the level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.context import AppContext
from tests.api.test_ewf_intake import open_session, put_part
from tests.api.test_verification import verify
from tests.conftest import Actor
from tests.images.ewfimages import acquire, change_stored_md5, flip_byte_in_chunk


def segmented_item(
    client: TestClient, actor: Actor, case: str, tmp: Path
) -> tuple[dict[str, Any], Any]:
    img = acquire(tmp, segment_size="1MiB", compression="deflate:best", size=8 * 1024 * 1024)
    assert len(img.segments) >= 3
    sid = open_session(client, actor, case, declared_digests={"md5": img.md5})
    for index, path in enumerate(img.segments, start=1):
        assert put_part(client, actor, sid, index, path).status_code == 201
    r = client.post(f"/api/v1/intake-sessions/{sid}/complete", headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json(), img


def stored(ctx: AppContext, part: dict[str, Any]) -> Path:
    return ctx.settings.data_dir / "store" / part["object_key"]


def tamper(path: Path, change: Any) -> None:
    path.chmod(0o644)  # what root, or anyone with write access to the folder, can do
    change(path)
    path.chmod(0o444)


def findings(client: TestClient, actor: Actor, evidence_id: str) -> list[str]:
    result = verify(client, actor, evidence_id).json()
    assert result["result"] == "fail"
    return list(result["report"]["findings"])


def test_an_intact_segmented_image_passes_both_levels(
    client: TestClient, technician: Actor, case: str, tmp_path: Path
) -> None:
    ev, _ = segmented_item(client, technician, case, tmp_path)
    result = verify(client, technician, ev["id"]).json()
    assert result["result"] == "pass", result["report"]["findings"]


def test_attack_flipped_byte_inside_a_compressed_chunk(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    ev, _ = segmented_item(client, technician, case, tmp_path)
    part = ev["parts"][1]
    tamper(stored(ctx, part), flip_byte_in_chunk)
    found = findings(client, technician, ev["id"])
    assert any(f.startswith(f"container: part 2 ({part['name']})") for f in found), found
    assert any(f.startswith("media: ") for f in found), found


def test_attack_changed_stored_hash(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    ev, _ = segmented_item(client, technician, case, tmp_path)
    last = ev["parts"][-1]
    tamper(stored(ctx, last), change_stored_md5)
    found = findings(client, technician, ev["id"])
    assert any(f.startswith(f"container: part {last['index']} ({last['name']})") for f in found)
    assert any(
        f.startswith("media: the imager's stored md5") and last["name"] in f for f in found
    ), found


def test_attack_segment_removed(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    ev, _ = segmented_item(client, technician, case, tmp_path)
    part = ev["parts"][1]
    path = stored(ctx, part)
    path.parent.chmod(0o755)
    path.chmod(0o644)
    path.unlink()
    found = findings(client, technician, ev["id"])
    assert any(f.startswith(f"container: part 2 ({part['name']})") for f in found), found
    assert any(f.startswith("media: ") for f in found), found


def test_attack_segments_swapped(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    ev, _ = segmented_item(client, technician, case, tmp_path)
    a, b = stored(ctx, ev["parts"][0]), stored(ctx, ev["parts"][1])
    data_a, data_b = a.read_bytes(), b.read_bytes()
    tamper(a, lambda p: p.write_bytes(data_b))
    tamper(b, lambda p: p.write_bytes(data_a))
    found = findings(client, technician, ev["id"])
    for part in ev["parts"][:2]:
        assert any(f.startswith(f"container: part {part['index']} ({part['name']})") for f in found)
    # libewf orders segments by their headers, so the media still reads true: the set's
    # order is what changed, and the finding says so
    name = ev["parts"][0]["name"]
    assert any(f.startswith(f"container: part 1 ({name}) holds segment 2") for f in found), found
