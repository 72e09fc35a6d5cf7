"""``SHA256SUMS`` / ``B3SUMS``: the coreutils check-file format (``sha256sum -c``, ``b3sum -c``)."""

from __future__ import annotations

import re

SUMS_FILES = ("SHA256SUMS", "B3SUMS")
_SUMS_LINE = re.compile(r"(\\?)([0-9a-fA-F]+) [ *](.+)")


def sums_line(digest: str, path: str) -> str:
    """coreutils ``<hex>  <path>``; names with \\ or newline are escaped as coreutils does."""
    if "\\" in path or "\n" in path or "\r" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {path}\n"


def parse_sums_line(line: str) -> tuple[str, str] | None:
    """``(digest, path)`` of one line, or None if it is not a check line."""
    m = _SUMS_LINE.fullmatch(line)
    if m is None:
        return None
    escaped, digest, path = m.groups()
    if escaped:
        path = re.sub(
            r"\\(.)", lambda x: {"n": "\n", "r": "\r", "\\": "\\"}.get(x.group(1), x.group(0)), path
        )
    return digest.lower(), path
