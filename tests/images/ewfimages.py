"""Real images made at test time by Debian's ewf-tools (ewfacquire), never downloaded.

``CUSTODY_REQUIRE_EWF=1`` (set by .ci/run) turns a missing ewfacquire into a failure, so CI
cannot skip the image tests.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import blake3
import pytest

MiB = 1024 * 1024


def require_ewf_tools() -> None:
    missing = [t for t in ("ewfacquire", "ewfverify") if shutil.which(t) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (Debian: apt-get install ewf-tools)"
        if os.environ.get("CUSTODY_REQUIRE_EWF") == "1":
            pytest.fail(message + "; CUSTODY_REQUIRE_EWF=1 forbids skipping", pytrace=False)
        pytest.skip(message)


def make_raw(path: Path, size: int = 3 * MiB, seed: int = 14) -> Path:
    """A disk-like image: zero runs, text (compressible) and random (incompressible) data."""
    rng = random.Random(seed)
    block = 64 * 1024
    words = [b"evidence", b"custody", b"ledger", b"seal", b"court", b"image", b"\n"]
    with path.open("wb") as f:
        for i in range(size // block):
            kind = i % 3
            if kind == 0:
                f.write(bytes(block))
            elif kind == 1:
                f.write(rng.randbytes(block))
            else:
                text = b" ".join(rng.choice(words) for _ in range(block // 5))
                f.write(text[:block].ljust(block, b"."))
    return path


@dataclass(frozen=True)
class Acquired:
    raw: Path
    segments: list[Path]
    md5: str
    sha1: str
    sha256: str
    blake3: str


def digests_of(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake3": blake3.blake3(data).hexdigest(),
    }


def md5sum(path: Path) -> str:
    """``md5sum`` of the raw image, by the tool itself."""
    out = subprocess.run(["md5sum", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


def ewfacquire(
    raw: Path,
    target: Path,
    *,
    segment_size: str | None = None,
    compression: str = "none",
    fmt: str = "encase6",
    digests: str = "sha1",
    case_number: str = "2026-XS-0117",
    evidence_number: str = "EV-07",
    examiner: str = "li.wei",
) -> list[Path]:
    """Acquire ``raw`` as EWF; returns the segment files in order."""
    require_ewf_tools()
    args = [
        "ewfacquire", "-u", "-q",
        "-t", str(target),
        "-C", case_number, "-E", evidence_number, "-e", examiner,
        "-D", "seized laptop disk", "-N", "bag F-0042",
        "-c", compression, "-f", fmt, "-d", digests,
    ]  # fmt: skip
    if segment_size:
        args += ["-S", segment_size]
    subprocess.run([*args, str(raw)], check=True, capture_output=True)
    found = sorted(
        p
        for p in target.parent.iterdir()
        if re.fullmatch(re.escape(target.name) + r"\.[Ee]\w\w", p.name)
    )
    assert found, f"ewfacquire wrote no segment next to {target}"
    return found


def acquire(
    tmp: Path,
    *,
    segment_size: str | None = None,
    compression: str = "none",
    fmt: str = "encase6",
    size: int = 3 * MiB,
    name: str = "img",
) -> Acquired:
    tmp.mkdir(parents=True, exist_ok=True)
    raw = make_raw(tmp / f"{name}.raw", size)
    segments = ewfacquire(
        raw, tmp / name, segment_size=segment_size, compression=compression, fmt=fmt
    )
    d = digests_of(raw)
    return Acquired(
        raw=raw,
        segments=segments,
        md5=d["md5"],
        sha1=d["sha1"],
        sha256=d["sha256"],
        blake3=d["blake3"],
    )


def ewfverify(first: Path) -> tuple[bool, str]:
    """``ewfverify`` on the set: (passed, stored MD5 it reports)."""
    out = subprocess.run(["ewfverify", "-q", str(first)], capture_output=True, text=True)
    stored = re.search(r"MD5 hash stored in file:\s+([0-9a-f]{32})", out.stdout)
    return out.returncode == 0, stored.group(1) if stored else ""


# --- attacks ---------------------------------------------------------------------------------


def sections(data: bytes) -> list[tuple[str, int, int]]:
    """EWF1 sections: (type, descriptor offset, size)."""
    found = []
    offset = 13
    while offset + 76 <= len(data):
        kind = data[offset : offset + 16].rstrip(b"\x00").decode()
        nxt, size = struct.unpack_from("<QQ", data, offset + 16)
        found.append((kind, offset, size))
        if kind in ("done", "next") or nxt <= offset:
            break
        offset = nxt
    return found


def flip_byte_in_chunk(segment: Path) -> None:
    """Flip one byte inside the compressed chunk data (the 'sectors' section)."""
    data = bytearray(segment.read_bytes())
    _kind, offset, size = next(s for s in sections(bytes(data)) if s[0] == "sectors")
    data[offset + 76 + size // 3] ^= 0x5A
    segment.write_bytes(bytes(data))


def change_stored_md5(segment: Path) -> str:
    """Change the MD5 in the 'hash' (and 'digest') section, fixing their checksums as a careful
    forger would; returns the new stored value."""
    data = bytearray(segment.read_bytes())
    new = ""
    for kind, offset, _ in sections(bytes(data)):
        body = offset + 76
        if kind == "hash":
            data[body] ^= 0x01
            struct.pack_into("<I", data, body + 32, zlib.adler32(bytes(data[body : body + 32])))
            new = bytes(data[body : body + 16]).hex()
        elif kind == "digest":
            data[body] ^= 0x01
            struct.pack_into("<I", data, body + 76, zlib.adler32(bytes(data[body : body + 76])))
    assert new, f"{segment} has no hash section"
    segment.write_bytes(bytes(data))
    return new
