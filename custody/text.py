"""Which characters a stored text may hold, decided per kind of field.

PostgreSQL cannot store NUL in text, an HTTP header cannot carry CR or LF, and a control
character in a name or an identifier is never meant: it hides or rewrites what a reader of
the record sees. So every text field we accept is one of three kinds, checked at the
boundary before anything is stored:

- a *line* (identifiers, names, titles, departments, seal numbers, purposes): no control
  character at all (C0, DEL, C1);
- a *text* (descriptions, reasons): like a line, but TAB, LF and CR are allowed;
- a *verbatim* value (an original filename or content type, kept exactly as the imaging
  tool or client gave it): anything but NUL. Such values are made safe where they are used
  (``Content-Disposition``), never altered in the record.

Lone UTF-16 surrogates are refused in all three: they cannot be encoded as UTF-8. Each
check returns a description of the first offending character, or None.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LINE_BREAKS = frozenset("\t\n\r")


def is_control(ch: str) -> bool:
    """C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F)."""
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _describe(ch: str, index: int) -> str:
    kind = "a lone surrogate" if 0xD800 <= ord(ch) <= 0xDFFF else "a control character"
    return f"{kind} (U+{ord(ch):04X}) at position {index}"


def _first(value: str, forbidden: Any) -> str | None:
    for i, ch in enumerate(value):
        if forbidden(ch):
            return _describe(ch, i)
    return None


def _surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def line_problem(value: str) -> str | None:
    """A single-line value: no control characters."""
    return _first(value, lambda ch: is_control(ch) or _surrogate(ch))


def text_problem(value: str) -> str | None:
    """Free text: control characters other than TAB, LF and CR are refused."""
    return _first(value, lambda ch: (is_control(ch) and ch not in LINE_BREAKS) or _surrogate(ch))


def verbatim_problem(value: str) -> str | None:
    """A value kept exactly as given: only NUL (and lone surrogates) cannot be stored."""
    return _first(value, lambda ch: ch == "\x00" or _surrogate(ch))


def json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every key and string value in a parsed JSON value, with a dotted path to it."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for k, v in item.items():
                yield f"{where}.{k}" if where else k, k
                stack.append((f"{where}.{k}" if where else k, v))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))


def json_text_problem(value: Any, path: str = "") -> str | None:
    """The first key or string in a JSON value that is not valid free text, described."""
    for where, s in json_strings(value, path):
        problem = text_problem(s)
        if problem:
            return f"{where or 'value'}: {problem}"
    return None
