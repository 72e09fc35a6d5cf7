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
