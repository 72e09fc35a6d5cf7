"""BagIt (RFC 8493) encoding: manifest paths, tag files, and the bag's own tag files."""

from __future__ import annotations

import re
from collections.abc import Mapping

from custody.errors import BundleError

BAGIT_VERSION = "1.0"
SOFTWARE_AGENT = "evidence-custody custody.bundle (format 2)"
HASHLIB_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_PERCENT = re.compile(r"%(0[aAdD]|25)")


def encode_manifest_path(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode %, CR and LF in manifest file paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_manifest_path(path: str) -> str:
    return _PERCENT.sub(lambda m: {"0a": "\n", "0d": "\r", "25": "%"}[m.group(1).lower()], path)


def tag_value(text: str) -> str:
    """Tag values are one line: line breaks and tabs become spaces."""
    return " ".join(text.replace("\r", " ").replace("\n", " ").replace("\t", " ").split())


def parse_tag_file(text: str) -> list[tuple[str, str]]:
    """``Label: value`` lines with RFC 8493 continuation lines (leading whitespace)."""
    tags: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and tags:
            label, value = tags[-1]
            tags[-1] = (label, f"{value} {line.strip()}")
            continue
        label, sep, value = line.partition(":")
        if not sep:
            raise BundleError(f"tag line {line!r} has no ':'")
        tags.append((label.strip(), value.strip()))
    return tags


def bagit_txt() -> str:
    return f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n"


def manifest(digests: Mapping[str, str]) -> str:
    """A manifest: ``<digest>  <path>`` lines, sorted by path."""
    return "".join(f"{d}  {encode_manifest_path(rel)}\n" for rel, d in sorted(digests.items()))


def bag_info(info: list[tuple[str, str]]) -> str:
    return "".join(f"{k}: {tag_value(v)}\n" for k, v in info)
