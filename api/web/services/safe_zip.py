"""Unpacking an uploaded zip without trusting it: no path escapes, no links, bounded size.

Each member's name is checked before anything is written (no absolute paths, no ``..``,
no backslashes or drive letters, no duplicates, no symbolic links, no encryption), the
bytes written are counted as they are decompressed (a zip bomb stops at the limit,
whatever sizes its headers claim), and every target is checked to lie inside the folder.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from custody.errors import InputError, UploadTooLarge

COPY_CHUNK = 1024 * 1024


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    parts = PurePosixPath(name).parts
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(p == ".." for p in parts)
    ):
        raise InputError(f"the zip member {name!r} points outside the bundle; nothing was checked")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InputError(f"the zip member {name!r} is a symbolic link; bundles hold none")
    if info.flag_bits & 0x1:
        raise InputError(f"the zip member {name!r} is encrypted; upload an unencrypted zip")
    return PurePosixPath(*[p for p in parts if p not in ("", ".")])


def extract(source: BinaryIO, dest: Path, *, max_bytes: int, max_members: int) -> Path:
    """Unpack ``source`` into the new folder ``dest``; raise InputError/UploadTooLarge."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(f"the upload is not a readable zip file ({e})") from None
    dest.mkdir(parents=True)
    root = dest.resolve()
    written = 0
    seen: set[str] = set()
    with archive:
        members = archive.infolist()
        if len(members) > max_members:
            raise InputError(f"the zip holds {len(members)} members; at most {max_members}")
        for info in members:
            relative = _member_path(info)
            key = relative.as_posix().casefold()
            if key in seen:
                raise InputError(f"the zip holds {info.filename!r} twice; nothing was checked")
            seen.add(key)
            target = (root / relative).resolve()
            if target != root and root not in target.parents:
                raise InputError(f"the zip member {info.filename!r} points outside the bundle")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, target.open("xb") as out:
                    while chunk := src.read(COPY_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise UploadTooLarge(
                                f"the zip unpacks to more than {max_bytes} bytes; nothing was "
                                "checked (use custody-verify for bundles this large)"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
                raise InputError(f"the zip member {info.filename!r} is damaged ({e})") from None
            except FileExistsError:
                raise InputError(f"the zip holds {info.filename!r} twice") from None
    return dest


def bag_root(folder: Path) -> Path:
    """The bag: the folder itself, or its one top-level folder, holding ``bagit.txt``."""
    if (folder / "bagit.txt").is_file():
        return folder
    tops = [p for p in folder.iterdir() if p.name != "__MACOSX"]
    if len(tops) == 1 and tops[0].is_dir() and (tops[0] / "bagit.txt").is_file():
        return tops[0]
    raise InputError(
        "no bagit.txt at the top of the zip or in its one folder: this is not a court bundle"
    )


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
