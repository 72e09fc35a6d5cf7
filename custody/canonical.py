"""Canonical JSON (RFC 8785, JCS) for everything that is hashed or signed.

Two parties that hold the same JSON value must produce the same bytes, or a signature or
hash made by one cannot be checked by the other.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from custody.errors import MalformedMetadata


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise MalformedMetadata(f"value cannot be canonicalized as JSON: {e}") from e


def parse_json_object(data: bytes | str, *, what: str) -> dict[str, Any]:
    """Parse a JSON object, raising MalformedMetadata with a clear message otherwise."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedMetadata(f"{what} is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise MalformedMetadata(f"{what} must be a JSON object, got {type(value).__name__}")
    return value
