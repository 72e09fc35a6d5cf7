"""Uploaded zips are unpacked without trusting them (attack assets named after the attack)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from api.web.services import safe_zip
from custody.errors import InputError, UploadTooLarge


def _zip(members: dict[str, bytes], *, link: str | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    buffer.seek(0)
    return buffer


def _extract(source: io.BytesIO, dest: Path, **limits: int) -> Path:
    return safe_zip.extract(
        source,
        dest,
        max_bytes=limits.get("max_bytes", 10_000_000),
        max_members=limits.get("max_members", 100),
    )


@pytest.mark.parametrize(
    "name",
    ["../zip-slip.txt", "bag/../../zip-slip.txt", "/tmp/absolute.txt", "C:/drive.txt", "a\\b.txt"],
)
def test_zip_slip_names_are_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="outside the bundle"):
        _extract(_zip({"bag/bagit.txt": b"ok", name: b"evil"}), tmp_path / "out")
    assert not (tmp_path / "zip-slip.txt").exists()
    assert not Path("/tmp/absolute.txt").exists()


def test_symbolic_links_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="symbolic link"):
        _extract(_zip({"bag/bagit.txt": b"ok"}, link="bag/data/passwd"), tmp_path / "out")


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("bag/data/a.txt", b"one")
        with pytest.warns(UserWarning):
            zf.writestr("bag/data/a.txt", b"two")
    buffer.seek(0)
    with pytest.raises(InputError, match="twice"):
        _extract(buffer, tmp_path / "out")


def test_a_zip_bomb_stops_at_the_limit_whatever_the_headers_say(tmp_path: Path) -> None:
    bomb = _zip({"bag/data/zeros.bin": b"\0" * 5_000_000})
    assert len(bomb.getvalue()) < 50_000  # small upload, big inflation
    with pytest.raises(UploadTooLarge):
        _extract(bomb, tmp_path / "out", max_bytes=1_000_000)


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    many = _zip({f"bag/{i}.txt": b"x" for i in range(20)})
    with pytest.raises(InputError, match="at most 10"):
        _extract(many, tmp_path / "out", max_members=10)


def test_not_a_zip(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a readable zip"):
        _extract(io.BytesIO(b"%PDF-1.7 not a zip"), tmp_path / "out")


def test_the_bag_is_found_at_the_top_or_in_the_one_folder(tmp_path: Path) -> None:
    top = _extract(_zip({"bagit.txt": b"x", "data/a": b"1"}), tmp_path / "top")
    assert safe_zip.bag_root(top) == top
    nested = _extract(_zip({"bundle-1/bagit.txt": b"x", "bundle-1/data/a": b"1"}), tmp_path / "n")
    assert safe_zip.bag_root(nested) == nested / "bundle-1"
    none = _extract(_zip({"a/b.txt": b"x", "c/d.txt": b"y"}), tmp_path / "none")
    with pytest.raises(InputError, match=r"bagit\.txt"):
        safe_zip.bag_root(none)
