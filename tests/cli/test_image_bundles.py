"""Court bundles of forensic images, through the real CLI against a live server.

A segmented E01 (made by ewfacquire) is taken in with ``custody intake``, exported with
``custody export --with-content``, and checked offline with ``custody-verify``: the bundle
carries the segment files under the imager's names, so ``ewfverify`` (a tool nobody here
wrote) accepts the bundled set, and the verifier re-checks both levels against the INTAKE
entry. Each attack is done as a careful forger would (every unsigned manifest rebuilt), and
each fails with a message that names the part and the level.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.served import Served
from tests.custody.test_bundle import reseal
from tests.images.ewfimages import (
    Acquired,
    acquire,
    change_stored_md5,
    ewfverify,
    flip_byte_in_chunk,
    make_raw,
)


def take_in(served: Served, case: str, first: Path, *extra: str) -> dict[str, Any]:
    result = served.cli("intake", str(first), "--case", case, "--json", *extra)
    assert result.exit_code == 0, result.output
    ev: dict[str, Any] = json.loads(result.stdout)
    return ev


def export(served: Served, case: str, out: Path, *, content: bool = True) -> Path:
    args = ["export", case, "--out", str(out), "--purpose", "court copy", "--json"]
    result = served.cli(*args, *(["--with-content"] if content else []))
    assert result.exit_code == 0, result.output
    return out


def verify(served: Served, bundle: Path, *extra: str) -> tuple[int, str]:
    """``custody-verify verify-bundle`` in a subprocess, as a court runs it."""
    key = served.ctx.signing_key.verifier().to_text()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "custody",
            "verify-bundle",
            str(bundle),
            "--trusted-key",
            key,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.returncode, out.stdout + out.stderr


def fails(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAIL")]


@pytest.fixture
def segmented(served: Served, tmp_path: Path) -> tuple[Acquired, dict[str, Any], Path]:
    served.create_case("IMG-BUNDLE-1")
    img = acquire(tmp_path / "acq", segment_size="1MiB", compression="deflate:best", size=6 << 20)
    assert len(img.segments) >= 3
    ev = take_in(served, "IMG-BUNDLE-1", img.segments[0], "--md5", img.md5)
    bundle = export(served, "IMG-BUNDLE-1", tmp_path / "bundle")
    return img, ev, bundle


def parts_dir(bundle: Path, ev: dict[str, Any]) -> Path:
    return bundle / "data" / "evidence" / ev["id"] / "parts"


def test_bundle_carries_the_segments_that_ewfverify_accepts_and_both_levels_verify(
    served: Served, segmented: tuple[Acquired, dict[str, Any], Path]
) -> None:
    img, ev, bundle = segmented
    folder = parts_dir(bundle, ev)
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in img.segments]
    for original in img.segments:
        assert (folder / original.name).read_bytes() == original.read_bytes()
    passed, stored_md5 = ewfverify(folder / img.segments[0].name)
    assert passed and stored_md5 == img.md5
    case = json.loads((bundle / "data" / "case.json").read_text())
    item = next(i for i in case["evidence"] if i["id"] == ev["id"])
    assert [p["content"] for p in item["parts"]] == [
        f"evidence/{ev['id']}/parts/{p.name}" for p in img.segments
    ]
    code, output = verify(served, bundle)
    assert code == 0, output
    line = next(x for x in output.splitlines() if x.startswith(f"OK: content of {ev['id']}"))
    assert f"container: {len(img.segments)} part(s) from the bundle match" in line
    assert "media: " in line and "imager's stored md5" in line


def test_bundle_without_content_checks_both_levels_from_a_content_dir(
    served: Served, tmp_path: Path
) -> None:
    served.create_case("IMG-BUNDLE-2")
    img = acquire(tmp_path / "acq", segment_size="1MiB", size=4 << 20)
    ev = take_in(served, "IMG-BUNDLE-2", img.segments[0])
    bare = export(served, "IMG-BUNDLE-2", tmp_path / "bare", content=False)
    code, output = verify(served, bare)
    assert code == 0, output
    assert f"SKIPPED: content of {ev['id']}" in output and "segment files" in output
    copies = tmp_path / "court-copy"
    copies.mkdir()
    for i, seg in enumerate(img.segments):  # the court's copy, under names of its own
        shutil.copy(seg, copies / f"exhibit-{i}.bin")
    code, output = verify(served, bare, "--content-dir", str(copies))
    assert code == 0, output
    assert f"OK: content of {ev['id']}: container: {len(img.segments)} part(s)" in output


def test_split_raw_bundle_checks_the_media_as_the_parts_joined(
    served: Served, tmp_path: Path
) -> None:
    served.create_case("IMG-BUNDLE-3")
    raw = make_raw(tmp_path / "disk.raw", 3 << 20)
    data = raw.read_bytes()
    for n in range(3):
        (tmp_path / f"disk.{n + 1:03d}").write_bytes(data[n << 20 : (n + 1) << 20])
    ev = take_in(served, "IMG-BUNDLE-3", tmp_path / "disk.001")
    assert ev["format"] == "raw" and len(ev["parts"]) == 3
    bundle = export(served, "IMG-BUNDLE-3", tmp_path / "bundle")
    joined = b"".join((parts_dir(bundle, ev) / f"disk.{n:03d}").read_bytes() for n in (1, 2, 3))
    assert hashlib.sha256(joined).hexdigest() == hashlib.sha256(data).hexdigest()
    code, output = verify(served, bundle)
    assert code == 0, output
    # an attacker swaps two raw parts' bytes but keeps the names
    folder = parts_dir(bundle, ev)
    one, two = folder / "disk.001", folder / "disk.002"
    a, b = one.read_bytes(), two.read_bytes()
    one.write_bytes(b)
    two.write_bytes(a)
    reseal(bundle)
    code, output = verify(served, bundle)
    assert code == 1, output
    assert any("container: part 1 (disk.001): sha256 is now" in f for f in fails(output)), output
    assert any("container: part 2 (disk.002): sha256 is now" in f for f in fails(output)), output
    assert any("media: sha256 of the media is now" in f for f in fails(output)), output


def test_attack_segment_removed_from_the_bundle(
    served: Served, segmented: tuple[Acquired, dict[str, Any], Path]
) -> None:
    img, ev, bundle = segmented
    removed = img.segments[1].name
    (parts_dir(bundle, ev) / removed).unlink()
    reseal(bundle)
    code, output = verify(served, bundle)
    assert code == 1, output
    assert any(
        f"content of {ev['id']}: container: part 2 ({removed}): missing from the bundle" in f
        for f in fails(output)
    ), output


def test_attack_segments_swapped_in_the_bundle(
    served: Served, segmented: tuple[Acquired, dict[str, Any], Path]
) -> None:
    img, ev, bundle = segmented
    folder = parts_dir(bundle, ev)
    first, second = folder / img.segments[1].name, folder / img.segments[2].name
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    reseal(bundle)
    code, output = verify(served, bundle)
    assert code == 1, output
    found = fails(output)
    assert any(f"container: part 2 ({img.segments[1].name}): sha256 is now" in f for f in found)
    assert any(f"container: part 3 ({img.segments[2].name}): sha256 is now" in f for f in found)
    assert any("holds segment 3 of its set, not segment 2" in f for f in found), output


def test_attack_flipped_byte_in_a_compressed_chunk_of_a_bundled_segment(
    served: Served, segmented: tuple[Acquired, dict[str, Any], Path]
) -> None:
    img, ev, bundle = segmented
    target = parts_dir(bundle, ev) / img.segments[1].name
    flip_byte_in_chunk(target)
    reseal(bundle)
    code, output = verify(served, bundle)
    assert code == 1, output
    found = fails(output)
    assert any(f"container: part 2 ({img.segments[1].name}): sha256 is now" in f for f in found)
    assert any(": media: " in f for f in found), output


def test_attack_changed_stored_hash_in_a_bundled_segment(
    served: Served, segmented: tuple[Acquired, dict[str, Any], Path]
) -> None:
    img, ev, bundle = segmented
    last = img.segments[-1]
    forged = change_stored_md5(parts_dir(bundle, ev) / last.name)
    reseal(bundle)
    code, output = verify(served, bundle)
    assert code == 1, output
    found = fails(output)
    index = len(img.segments)
    assert any(f"container: part {index} ({last.name}): sha256 is now" in f for f in found)
    assert any(
        f"media: the imager's stored md5 (in part {index} ({last.name})) now reads {forged}" in f
        for f in found
    ), output


def test_one_part_is_downloaded_alone_and_recorded(
    served: Served, segmented: tuple[Acquired, dict[str, Any], Path]
) -> None:
    img, ev, _ = segmented
    with served.http() as h:
        r = h.get(f"/api/v1/evidence/{ev['id']}/parts/2/content", params={"purpose": "expert"})
        assert r.status_code == 200, r.text
        assert r.content == img.segments[1].read_bytes()
        assert r.headers["X-Custody-Part"] == "2"
        assert r.headers["X-Custody-SHA256"] == ev["parts"][1]["digests"]["sha256"]
        whole = h.get(f"/api/v1/evidence/{ev['id']}/content", params={"purpose": "expert"})
        assert whole.status_code == 200
        joined = b"".join(p.read_bytes() for p in img.segments)
        assert whole.content == joined
        assert hashlib.sha256(joined).hexdigest() == ev["digests"]["sha256"]
        missing = h.get(
            f"/api/v1/evidence/{ev['id']}/parts/{len(img.segments) + 1}/content",
            params={"purpose": "expert"},
        )
        assert missing.status_code == 404
        assert missing.json()["type"].endswith(":unknown-part")
        no_purpose = h.get(f"/api/v1/evidence/{ev['id']}/parts/1/content")
        assert no_purpose.status_code in (400, 422), no_purpose.text
        history = h.get(f"/api/v1/evidence/{ev['id']}/custody").json()["entries"]
    downloads = [e["entry"] for e in history if e["entry"]["action"] == "evidence.download"]
    assert any(d["details"].get("part") == 2 for d in downloads), downloads
    ended = [e["entry"] for e in history if e["entry"]["action"] == "evidence.download_ended"]
    assert any(e["details"]["complete"] for e in ended)
