"""Names inside a bag: evidence folders, content file names, entry files, safe paths."""

from __future__ import annotations

import re
from collections.abc import Sequence

from custody.errors import BundleError

FALLBACK_CONTENT_NAME = "content.bin"
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ENTRY_NAME = re.compile(r"([0-9]{6,})\.json")
HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_NAME_BYTES = 200


TIMESTAMP_NAME = re.compile(r"([0-9]{3,})\.tsr")


def entry_file(seq: int) -> str:
    return f"{seq:06d}.json"


def timestamp_file(number: int) -> str:
    """An RFC 3161 TimeStampResp (DER), as ``openssl ts -reply -in`` reads it."""
    return f"{number:03d}.tsr"


def safe_file_name(name: str) -> str:
    """The basename with ``/``, ``\\``, NUL and other control characters removed.

    ``%`` becomes the full-width ``％``: RFC 8493 percent-encodes ``%`` in manifests but
    bagit-python (``bagit.py --validate``) does not decode it, so a bag path with ``%`` cannot
    satisfy both; with no ``%``, CR or LF in any path, every BagIt tool reads our manifests
    alike. Falls back to ``content.bin`` when nothing usable is left; over-long names keep
    their extension and are cut to 200 UTF-8 bytes.
    """
    base = re.split(r"[/\\]", name)[-1] if name else ""
    base = "".join(c for c in base if ord(c) >= 0x20 and ord(c) != 0x7F).replace("%", "\uff05")
    if base in ("", ".", ".."):
        return FALLBACK_CONTENT_NAME
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        if not dot or len(ext.encode("utf-8")) > 20:
            stem, ext = base, ""
        suffix = f".{ext}" if ext else ""
        budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        base = (cut or "content") + suffix
    return base


def check_id(evidence_id: str) -> str:
    """An evidence id that can name a folder, or BundleError."""
    if not isinstance(evidence_id, str) or not SAFE_ID.fullmatch(evidence_id):
        raise BundleError(
            f"evidence id {evidence_id!r} cannot name a folder: use letters, digits, '.', '_', '-'"
        )
    return evidence_id


def safe_rel(path: str) -> bool:
    """A relative POSIX path that stays inside its base: no '..', no absolute, no empty part."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    parts = path.split("/")
    return all(p not in ("", ".", "..") for p in parts)


def part_file_names(names: Sequence[str]) -> list[str]:
    """Bag file names for an image's parts, in order: the imager's own names where they are
    safe and distinct (``ewfverify img.E01`` finds its siblings by name), else numbered."""
    safe = [safe_file_name(n) for n in names]
    if len(set(safe)) == len(safe) and FALLBACK_CONTENT_NAME not in safe:
        return safe
    return [f"{i:04d}-{n}" for i, n in enumerate(safe, start=1)]
