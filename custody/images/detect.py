"""Which format a file is, from its first bytes (the signature), never from its name.

A technician's ``disk.E01`` may be a raw image renamed, and an E01 may arrive as
``upload.bin``; only the signature says what the bytes are.
"""

from __future__ import annotations

import struct
from enum import StrEnum

# EWF version 1 (EnCase 1–6, FTK, ewfacquire): "EVF" 0x09 0x0d 0x0a 0xff 0x00
EWF1_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
# EWF version 2 (EnCase 7+ Ex01): "EVF2" 0x0d 0x0a 0x81 0x00
EWF2_SIGNATURE = b"EVF2\x0d\x0a\x81\x00"
HEAD_BYTES = 32  # enough for either file header
TAIL_BYTES = 76  # one EWF1 section descriptor: the last one is "next" or "done"


class ImageFormat(StrEnum):
    """What an item is: an opaque file, an EWF image, or a (split) raw image."""

    FILE = "file"
    EWF = "ewf"
    RAW = "raw"


class Family(StrEnum):
    """The EWF segment-file family, which fixes the naming of the segments."""

    EWF1 = "E01"
    EWF2 = "Ex01"


def detect_format(head: bytes) -> Family | None:
    """The EWF family of a segment file from its first bytes; None if it is not EWF."""
    if head.startswith(EWF1_SIGNATURE):
        return Family.EWF1
    if head.startswith(EWF2_SIGNATURE):
        return Family.EWF2
    return None


def segment_number(head: bytes) -> int | None:
    """The segment number the file header records (1 for E01), or None if unreadable.

    EWF1: a 16-bit little-endian number at offset 9; EWF2: a 32-bit one at offset 12.
    """
    family = detect_format(head)
    if family is Family.EWF1 and len(head) >= 11:
        return int(struct.unpack_from("<H", head, 9)[0])
    if family is Family.EWF2 and len(head) >= 16:
        return int(struct.unpack_from("<I", head, 12)[0])
    return None


def last_section(tail: bytes) -> str | None:
    """The type of an EWF1 segment's last section: "done" ends the set, "next" says more follow.

    None where it cannot be told (EWF2, or a file too short to hold a section descriptor).
    """
    if len(tail) < TAIL_BYTES:
        return None
    name = tail[-TAIL_BYTES:][:16].rstrip(b"\x00")
    try:
        text = name.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text in ("done", "next") else None
