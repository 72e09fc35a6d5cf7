"""``custody intake img.E01`` picks up the siblings, says so, and makes one item."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.served import Served
from tests.images.ewfimages import acquire, md5sum


def test_intake_of_e01_picks_up_its_segments_as_one_item(served: Served, tmp_path: Path) -> None:
    served.create_case("FOR-14")
    img = acquire(tmp_path, segment_size="1MiB")
    assert len(img.segments) >= 3
    result = served.cli(
        "intake", str(img.segments[0]), "--case", "FOR-14", "--md5", img.md5, "--json"
    )
    assert result.exit_code == 0, result.output
    names = ", ".join(p.name for p in img.segments)
    assert f"taking in its {len(img.segments)} segments ({names}) as one item" in result.stderr
    ev = json.loads(result.stdout)
    assert ev["format"] == "ewf"
    assert [p["name"] for p in ev["parts"]] == [p.name for p in img.segments]
    assert ev["image"]["digests"]["md5"] == md5sum(img.raw)


def test_intake_refuses_a_set_with_a_gap(served: Served, tmp_path: Path) -> None:
    served.create_case("FOR-15")
    img = acquire(tmp_path, segment_size="1MiB")
    img.segments[1].unlink()
    result = served.cli("intake", str(img.segments[0]), "--case", "FOR-15", "--json")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["code"] == "segment-missing"
    assert img.segments[1].name in error["error"]
    assert served.uploads() == 0


def test_intake_of_a_derived_file_names_its_parent_image(served: Served, tmp_path: Path) -> None:
    served.create_case("FOR-16")
    img = acquire(tmp_path, segment_size="1MiB")
    parent = served.cli("intake", str(img.segments[0]), "--case", "FOR-16", "--json")
    assert parent.exit_code == 0, parent.output
    parent_id = json.loads(parent.stdout)["id"]
    carved = tmp_path / "report.docx"
    carved.write_bytes(b"exported from the image by Autopsy")
    inside = "/Users/zhang/Documents/report.docx"
    args = ["intake", str(carved), "--case", "FOR-16", "--parent", parent_id]
    result = served.cli(*args, "--path-in-parent", inside)
    assert result.exit_code == 0, result.output
    assert f"derived from {parent_id} {inside}" in result.stdout
    history = served.cli("evidence", "custody", parent_id, "--json")
    assert history.exit_code == 0, history.output
    assert inside in history.stdout and "evidence.derived" in history.stdout


def test_path_in_parent_without_a_parent_is_refused_before_any_upload(
    served: Served, tmp_path: Path
) -> None:
    served.create_case("FOR-17")
    carved = tmp_path / "a.txt"
    carved.write_bytes(b"x")
    result = served.cli("intake", str(carved), "--case", "FOR-17", "--path-in-parent", "/a.txt")
    assert result.exit_code == 2, result.output
    assert "--path-in-parent needs --parent" in result.output
    assert served.uploads() == 0


def test_resumable_intake_of_an_e01_is_an_image_with_media_digests(
    served: Served, tmp_path: Path
) -> None:
    served.create_case("FOR-18")
    img = acquire(tmp_path, compression="deflate:fast")
    assert len(img.segments) == 1
    args = ["intake", str(img.segments[0]), "--case", "FOR-18", "--md5", img.md5]
    result = served.cli(*args, "--resumable", "--json")
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)
    assert ev["format"] == "ewf"
    assert ev["image"]["digests"]["md5"] == md5sum(img.raw)
    assert ev["image"]["stored_digests"]["md5"] == img.md5
    assert served.uploads() == 0  # it went over tus, not the raw-body route
