"""Verification steps for the bag itself: its files, BagIt manifests and the sums files.

These prove that nothing changed in transit. They are not signed, so they cannot prove that
nothing was left out: that is the case chain's job (custody.bundle.verify_ledger).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from custody.bundle.bagit import HASHLIB_ALGORITHMS, decode_manifest_path, parse_tag_file
from custody.bundle.context import VerifyContext
from custody.bundle.files import is_regular
from custody.bundle.names import HEX64, safe_rel
from custody.bundle.sums import SUMS_FILES, parse_sums_line
from custody.digests import CHUNK_SIZE


def walk_payload(v: VerifyContext) -> None:
    data = v.path("data")
    if not data.is_dir():
        v.fail("data/", "the bag has no data/ folder")
        return
    for directory, dirs, files in os.walk(data):
        base = Path(directory)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                rel = (base / name).relative_to(v.root).as_posix()
                v.fail(rel, f"{rel}: a symbolic link in the bag; refusing to follow it")
        for name in sorted(files):
            path = base / name
            rel = path.relative_to(v.root).as_posix()
            if is_regular(path):
                v.payload.append(rel)
            else:
                v.fail(rel, f"{rel}: not a regular file (link or device) in the bag")
    v.payload.sort()


def _manifest(v: VerifyContext, name: str, *, tag: bool) -> dict[str, str] | None:
    raw = v.read(name)
    if raw is None:
        return None
    entries: dict[str, str] = {}
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        m = re.fullmatch(r"(\S+)[ \t]+(.+)", line)
        if m is None:
            v.fail(name, f"{name}: line {number} is not '<digest> <path>'")
            continue
        digest, rel = m.group(1).lower(), decode_manifest_path(m.group(2))
        inside = not rel.startswith("data/") if tag else rel.startswith("data/")
        if not safe_rel(rel) or not inside:
            where = "a tag file" if tag else "a file under data/"
            v.fail(name, f"{name}: line {number} names {rel!r}, which is not {where}")
            continue
        entries[rel] = digest
    return entries


def _file_digest(v: VerifyContext, rel: str, algorithm: str) -> str | None:
    if algorithm == "sha256":
        h = v.hashed(rel)
        return h.sha256 if h else None
    path = v.path(rel)
    if not is_regular(path):
        return None
    digest = hashlib.new(algorithm)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_manifest(v: VerifyContext, name: str, algorithm: str, *, tag: bool) -> None:
    listed = _manifest(v, name, tag=tag)
    if listed is None:
        v.fail(name, f"file deleted from the bag: {name}")
        return
    problems = 0
    for rel, want in sorted(listed.items()):
        got = _file_digest(v, rel, algorithm)
        if got is None:
            v.fail(rel, f"file deleted from the bag: {rel} (listed in {name})")
            problems += 1
        elif got != want:
            v.fail(
                rel,
                f"{rel}: {algorithm} does not match {name} (listed {want}, computed {got}) "
                "— the file was changed",
            )
            problems += 1
    if tag:
        present = sorted(
            p.name
            for p in v.root.iterdir()
            if is_regular(p) and not p.name.startswith("tagmanifest-")
        )
        for extra in present:
            if extra not in listed:
                v.fail(extra, f"tag file {extra} is not covered by {name}")
                problems += 1
    else:
        for rel in v.payload:
            if rel not in listed:
                v.fail(rel, f"file added to the bag but not listed in {name}: {rel}")
                problems += 1
    if not problems:
        v.ok(name, f"{name}: all {len(listed)} files are present and hash right")


def _check_manifests(v: VerifyContext, prefix: str, *, tag: bool) -> None:
    names = sorted(
        p.name for p in v.root.iterdir() if re.fullmatch(prefix + r"-[a-z0-9]+\.txt", p.name)
    )
    required = f"{prefix}-sha256.txt"
    if required not in names:
        v.fail(required, f"file deleted from the bag: {required}")
    for name in names:
        algorithm = name.removeprefix(f"{prefix}-").removesuffix(".txt")
        if algorithm not in HASHLIB_ALGORITHMS:
            v.fail(name, f"{name}: unsupported algorithm {algorithm!r}")
            continue
        _check_manifest(v, name, algorithm, tag=tag)


def check_bag(v: VerifyContext) -> None:
    raw = v.read("bagit.txt")
    if raw is None:
        v.fail("bagit.txt", "file deleted from the bag: bagit.txt (not a BagIt bag)")
    else:
        tags = dict(parse_tag_file(raw.decode("utf-8")))
        version = tags.get("BagIt-Version")
        encoding = tags.get("Tag-File-Character-Encoding", "")
        if version not in ("0.97", "1.0") or encoding.upper() != "UTF-8":
            v.fail(
                "bagit.txt",
                f"bagit.txt: expected BagIt-Version 1.0 and UTF-8, got {version!r}, {encoding!r}",
            )
        else:
            v.ok("bagit.txt", f"bagit.txt: BagIt {version}, UTF-8")
    _check_manifests(v, "manifest", tag=False)
    raw_info = v.read("bag-info.txt")
    if raw_info is None:
        v.fail("bag-info.txt", "file deleted from the bag: bag-info.txt")
    else:
        info = dict(parse_tag_file(raw_info.decode("utf-8")))
        oxum = info.get("Payload-Oxum")
        octets = sum(v.path(rel).lstat().st_size for rel in v.payload)
        actual = f"{octets}.{len(v.payload)}"
        if oxum != actual:
            v.fail(
                "bag-info.txt",
                f"bag-info.txt: Payload-Oxum is {oxum!r} but the payload holds {actual} "
                "(bytes.files) — files were added, removed or changed in size",
            )
        else:
            v.ok("bag-info.txt", f"bag-info.txt: Payload-Oxum {actual} matches")
    _check_manifests(v, "tagmanifest", tag=True)


def check_sums(v: VerifyContext) -> None:
    for name, field_name in (("SHA256SUMS", "sha256"), ("B3SUMS", "blake3")):
        item = f"data/{name}"
        raw = v.read(item)
        if raw is None:
            v.fail(item, f"file deleted from the bag: {item}")
            continue
        problems = 0
        listed: set[str] = set()
        for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
            parsed = parse_sums_line(line)
            if parsed is None or not safe_rel(parsed[1]) or not HEX64.fullmatch(parsed[0]):
                v.fail(item, f"{item}: line {number} is not '<hex>  <path>' inside data/")
                problems += 1
                continue
            digest, rel = parsed
            listed.add(rel)
            h = v.hashed(f"data/{rel}")
            if h is None:
                v.fail(item, f"{item}: file deleted from the bag: data/{rel}")
                problems += 1
            elif getattr(h, field_name) != digest:
                v.fail(
                    item,
                    f"{item}: data/{rel} does not match (listed {digest}, computed "
                    f"{getattr(h, field_name)}) — the file was changed",
                )
                problems += 1
        for rel in v.payload:
            short = rel.removeprefix("data/")
            if short not in SUMS_FILES and short not in listed:
                v.fail(item, f"{item}: data/{short} is not listed — a file was added")
                problems += 1
        if not problems:
            v.ok(item, f"{item}: all {len(listed)} files match")
