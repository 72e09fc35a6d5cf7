"""Strict standard base64: the one decoder behind every signature, key, root and proof parser.

A signature or hash has exactly one spelling: the standard alphabet, canonical padding, no
whitespace, zero trailing bits (the text re-encodes to itself). Accepting other spellings
would let the same signed bytes travel in several forms and two parsers of one document
disagree; C2SP signed notes require the canonical form.
"""

from __future__ import annotations

import base64
import binascii

from custody.errors import CheckpointError, CustodyError


def encode(raw: bytes) -> str:
    """Standard base64 with padding, as ASCII text."""
    return base64.b64encode(raw).decode("ascii")


def decode(text: object, what: str, error: type[CustodyError] = CheckpointError) -> bytes:
    """The bytes ``text`` encodes, or ``error`` saying that ``what`` is not canonical base64.

    The message never repeats the text: it may be a private key.
    """
    if not isinstance(text, str):
        raise error(f"{what} must be a base64 string, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{what} is not valid base64") from None
    if encode(raw) != text:
        raise error(f"{what} is not canonical base64")
    return raw
