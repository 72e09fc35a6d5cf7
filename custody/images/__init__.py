"""Forensic image formats: EWF (E01/Ex01) and split raw images taken in as one item.

An image has two levels. The *container* is the files as they are stored (each segment, or
part, with its own digests); the *media* is the disk the imager read, which E01 hashes and
``md5sum`` of a raw image describe. Everything here is pure (bytes and values in, values or
typed errors out) except :mod:`custody.images.ewf_reader`, which holds libewf's Python
binding behind a lazy import: the offline verifier works without it and says what it could
not check.
"""

from __future__ import annotations

from custody.images.detect import Family, ImageFormat, detect_format
from custody.images.segments import PartHead, check_ewf_set, segment_name, siblings

__all__ = [
    "Family",
    "ImageFormat",
    "PartHead",
    "check_ewf_set",
    "detect_format",
    "segment_name",
    "siblings",
]
