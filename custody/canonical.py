"""Canonical JSON (RFC 8785, JCS) for everything that is hashed or signed.

Two parties that hold the same JSON value must produce the same bytes, or a signature or
hash made by one cannot be checked by the other.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785

from custody.errors import InputError, MalformedMetadata


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise MalformedMetadata(f"value cannot be canonicalized as JSON: {e}") from e


MAX_JSON_DEPTH = 32
"""Deepest nesting accepted in JSON we parse: real metadata is a few levels deep, and a
limit far below Python's recursion limit keeps a hostile body from exhausting the stack."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259); send a finite number or a string")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large for a double; send it as a string")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:60]!r} (I-JSON, RFC 7493, forbids it)")
        result[key] = value
    return result


def _depth_and_surrogates(value: Any) -> tuple[int, str | None]:
    """Nesting depth of a parsed value and the first string holding a lone surrogate."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            for k, v in item.items():
                if _has_surrogate(k):
                    return deepest, k
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and _has_surrogate(item):
            return deepest, item
    return deepest, None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(data: bytes | str, *, what: str, error: type[InputError] = MalformedMetadata) -> Any:
    """Parse strict JSON: UTF-8, finite numbers, unique keys, nesting at most MAX_JSON_DEPTH.

    Python's json accepts NaN, Infinity and duplicate keys and turns 1e400 into infinity;
    each would be stored as something other than what was sent, so each is refused here.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            object_pairs_hook=_no_duplicates,
        )
    except RecursionError:
        raise error(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels; flatten it") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise error(f"{what} is not valid JSON: {e}") from e
    depth, bad = _depth_and_surrogates(value)
    if depth > MAX_JSON_DEPTH:
        raise error(f"{what} is nested {depth} levels deep; at most {MAX_JSON_DEPTH} are allowed")
    if bad is not None:
        raise error(f"{what} holds a lone UTF-16 surrogate (\\ud800-\\udfff) in {bad[:40]!r}")
    return value


def parse_json_object(
    data: bytes | str, *, what: str, error: type[InputError] = MalformedMetadata
) -> dict[str, Any]:
    """Parse a strict JSON object (see :func:`parse_json`), raising ``error`` otherwise."""
    value = parse_json(data, what=what, error=error)
    if not isinstance(value, dict):
        raise error(f"{what} must be a JSON object, got {type(value).__name__}")
    return value
