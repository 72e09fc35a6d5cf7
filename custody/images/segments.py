"""Segments of one acquisition: their names, their order, and whether the set is whole.

An imager writes one acquisition as ``img.E01, img.E02, …`` (EWF), ``img.Ex01, …`` (EWF2)
or ``disk.001, disk.002, …`` (split raw). They are one item with ordered parts. A part that
holds another segment than its place says (swapped, renamed) or a set with a gap or without
its last segment is refused here, with the part named, before libewf is asked to read it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from custody.errors import ImageError, SegmentMissing, SegmentOutOfOrder
from custody.images.detect import Family, detect_format, last_section, segment_number

MAX_EWF_SEGMENTS = 99 + 26 * 26 * 22  # E01–E99, then EAA–ZZZ (libewf's naming)
_EWF1_NAME = re.compile(r"^(?P<stem>.*)\.(?P<letter>[EeLlSs])(?P<rest>\d\d|[A-Za-z]{2})$")
_EWF2_NAME = re.compile(
    r"^(?P<stem>.*)\.(?P<letter>[EeLl])(?P<x>[x-zX-Z])(?P<rest>\d\d|[A-Za-z]{2})$"
)
_RAW_NAME = re.compile(r"^(?P<stem>.*)\.(?P<digits>\d{3,4})$")


def _letters(n: int, upper: bool) -> str:
    alphabet = string.ascii_uppercase if upper else string.ascii_lowercase
    return alphabet[n // 26] + alphabet[n % 26]


def _ewf1_extension(letter: str, n: int) -> str:
    """E01…E99, then EAA…EZZ, FAA…ZZZ: libewf's (and EnCase's) segment extensions."""
    if n < 100:
        return f"{letter}{n:02d}"
    upper = letter.isupper()
    k = n - 100
    first = ord(letter) + k // 676
    if first > ord("Z" if upper else "z"):
        raise ImageError(f"segment {n} is past the last EWF segment name (ZZZ)")
    return chr(first) + _letters(k % 676, upper)


def segment_name(first: str, n: int) -> str:
    """The file name of segment ``n`` (1-based) of the set whose first segment is ``first``."""
    if n < 1:
        raise ImageError("segments are numbered from 1")
    if m := _EWF2_NAME.match(first):
        if n < 100:
            rest = f"{n:02d}"
        elif n < 100 + 676:
            rest = _letters(n - 100, m["letter"].isupper())
        else:
            raise ImageError(f"segment {n} is past the last EWF2 segment name")
        return f"{m['stem']}.{m['letter']}{m['x']}{rest}"
    if m := _EWF1_NAME.match(first):
        return f"{m['stem']}.{_ewf1_extension(m['letter'], n)}"
    if m := _RAW_NAME.match(first):
        start = int(m["digits"])
        width = len(m["digits"])
        return f"{m['stem']}.{start + n - 1:0{width}d}"
    raise ImageError(f"{first!r} is not named like the first segment of an image")


def is_first_segment_name(name: str) -> bool:
    """``img.E01``, ``img.Ex01``, ``disk.001`` (or ``disk.000``): names that start a set."""
    if m := _EWF2_NAME.match(name):
        return m["rest"] == "01"
    if m := _EWF1_NAME.match(name):
        return m["rest"] == "01"
    if m := _RAW_NAME.match(name):
        return int(m["digits"]) in (0, 1)
    return False


def siblings(first: str, names: Iterable[str]) -> list[str]:
    """The set's segment names in order, from ``first``, among the ``names`` that exist.

    The set ends at the first missing name; a later segment that exists past that gap means
    one in between is missing (SegmentMissing, naming it).
    """
    present = set(names)
    if first not in present:
        raise SegmentMissing(f"the first segment {first} is not there")
    found = [first]
    n = 2
    while True:
        try:
            name = segment_name(first, n)
        except ImageError:
            break
        if name not in present:
            break
        found.append(name)
        n += 1
    for later in range(n + 1, n + 64):
        try:
            name = segment_name(first, later)
        except ImageError:
            break
        if name in present:
            raise SegmentMissing(
                f"segment {n} ({segment_name(first, n)}) is missing: the set has "
                f"{', '.join(found)} and then {name}; find the missing segment and take in "
                "the whole set"
            )
    return found


@dataclass(frozen=True, kw_only=True)
class PartHead:
    """The first and last bytes of one part as given, enough to place it in its set."""

    index: int  # 1-based position in the set as submitted
    name: str
    size: int
    head: bytes
    tail: bytes


def _part(p: PartHead) -> str:
    return f"part {p.index} ({p.name})" if p.name else f"part {p.index}"


def check_ewf_set(parts: Sequence[PartHead]) -> Family:
    """Refuse a set that is not whole and in order; return its family.

    Checked at the container level, from each part's file header (its segment number) and
    the last section of each EWF1 part ("next" if more follow, "done" on the last one).
    """
    if not parts:
        raise SegmentMissing("the image has no parts")
    family = detect_format(parts[0].head)
    if family is None:
        raise ImageError(
            f"container: {_part(parts[0])} is not an EWF segment file (no EVF signature)"
        )
    for p in parts:
        other = detect_format(p.head)
        if other is not family:
            what = "not an EWF segment file" if other is None else f"an {other} segment file"
            raise ImageError(
                f"container: {_part(p)} is {what}, but {_part(parts[0])} is an {family} one; "
                "a set holds segments of one acquisition only"
            )
        number = segment_number(p.head)
        if number != p.index:
            raise SegmentOutOfOrder(
                f"container: {_part(p)} holds segment {number} of its set, not segment "
                f"{p.index}: the segments are out of order or renamed; give them in the "
                "order E01, E02, … as the imager wrote them"
            )
    if family is Family.EWF1:
        for p in parts[:-1]:
            if last_section(p.tail) == "done":
                raise SegmentOutOfOrder(
                    f"container: {_part(p)} is the last segment of its set (it ends with a "
                    f"'done' section), yet {len(parts) - p.index} more part(s) follow it"
                )
        last = parts[-1]
        ending = last_section(last.tail)
        if ending == "next":
            raise SegmentMissing(
                f"container: {_part(last)} ends with a 'next' section: segment "
                f"{last.index + 1} and any after it are missing; take in the whole set"
            )
        if ending is None:
            raise ImageError(
                f"container: {_part(last)} does not end with an EWF section descriptor: it "
                "is truncated"
            )
    return family


def raw_part_names(names: Sequence[str]) -> None:
    """Split raw parts carry their order only in their names: refuse a gap or a swap there."""
    if len(names) < 2:
        return
    first = names[0]
    if not _RAW_NAME.match(first):
        return  # parts named freely (e.g. by the web form): their order is the caller's
    for index, name in enumerate(names, start=1):
        expected = segment_name(first, index)
        if name != expected:
            raise SegmentOutOfOrder(
                f"container: part {index} is named {name}, expected {expected}: the parts of "
                "a split raw image are joined in the order of their numbers"
            )
