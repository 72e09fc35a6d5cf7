"""Header-safe forms of recorded values: the record keeps them verbatim, headers never do.

A filename or content type comes from the imaging tool or the client and is kept exactly
as given; it may hold CR, LF or other control characters. Put into a header as it is, it
would let a stored value inject headers or, as h11 does, make the server drop the
connection mid-download. So downloads carry an RFC 6266 ``Content-Disposition`` built from
the name (an ASCII fallback plus the exact name percent-encoded in ``filename*``) and the
recorded content type only when it is a valid MIME type.
"""

from __future__ import annotations

import re
import urllib.parse

FALLBACK_TYPE = "application/octet-stream"
FALLBACK_NAME = "evidence.bin"

_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t !-~])*"'
MEDIA_TYPE = re.compile(
    rf"{_TCHAR}/{_TCHAR}(?:[ \t]*;[ \t]*{_TCHAR}=(?:{_TCHAR}|{_QUOTED}))*[ \t]*\Z"
)
"""RFC 9110 §8.3.1 media-type: type "/" subtype *( OWS ";" OWS parameter )."""


def safe_media_type(recorded: str | None) -> str:
    """The recorded content type if it is a valid MIME type, else application/octet-stream."""
    if recorded and MEDIA_TYPE.match(recorded):
        return recorded
    return FALLBACK_TYPE


def _base_name(filename: str) -> str:
    """The last path component: a recorded name is never a path on the recipient's disk."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base.strip(". ") or FALLBACK_NAME


def _ascii_fallback(name: str) -> str:
    """Printable ASCII only, without quote, backslash or percent (RFC 6266 §4.3)."""
    kept = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in name)
    return kept.strip(". ") or FALLBACK_NAME


def content_disposition(filename: str) -> str:
    """``attachment; filename="fallback"; filename*=UTF-8''exact-name-percent-encoded``."""
    base = _base_name(filename)
    exact = urllib.parse.quote(base, safe="")
    return f"attachment; filename=\"{_ascii_fallback(base)}\"; filename*=UTF-8''{exact}"
