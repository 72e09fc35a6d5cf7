"""An image's content in a bundle, checked at both levels against its INTAKE entry.

The *container* level is each part file (a segment the imager wrote) against the digests
the INTAKE entry records for it, and the set's order (each EWF segment's own number and its
last section). The *media* level is the disk the imager read: for split raw the parts
joined, for EWF what libewf decompresses, against ``image.digests`` and the imager's stored
hash. Findings come from :func:`custody.verification.image_findings`, the same words the
server's verification uses, so a court reads "container: part 2 (img.E02): …" in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from custody.bundle.context import VerifyContext
from custody.bundle.files import Hashed, is_regular
from custody.bundle.names import part_file_names
from custody.digests import CHUNK_SIZE, MultiHasher
from custody.errors import CustodyError
from custody.images import ewf_reader
from custody.images.detect import HEAD_BYTES, TAIL_BYTES, ImageFormat
from custody.images.record import PartRecord
from custody.images.segments import PartHead, check_ewf_set
from custody.intake_record import IntakeRecord, intake_record
from custody.verification import ContentReading, MediaContent, PartContent, image_findings


def is_image_entry(intake: Mapping[str, Any] | None) -> bool:
    details = (intake or {}).get("details") or {}
    return bool(details.get("image")) and bool(details.get("parts"))


def check_image_content(
    v: VerifyContext,
    item: str,
    evidence_id: str,
    intake: tuple[int, dict[str, Any]],
    index: Mapping[int, list[Path]] | None,
) -> None:
    """Check an image's parts (in the bag, else found in ``--content-dir``) and its media."""
    record = intake_record(intake[1])
    folder = f"data/evidence/{evidence_id}/parts"
    in_bag = sorted(p for p in v.payload if p.startswith(folder + "/"))
    names = part_file_names([p.name for p in record.parts])
    if in_bag:
        expected = {f"{folder}/{n}" for n in names}
        for extra in sorted(set(in_bag) - expected):
            v.fail(
                item,
                f"{item}: container: {extra} is not a part the INTAKE entry {record.seq} "
                "records (a part was renamed or added)",
            )
        found = [_in_bag(v, f"{folder}/{n}") for n in names]
        where = "the bundle"
    elif v.content_dir is not None and index is not None:
        found = [_in_dir(v, index, p) for p in record.parts]
        where = str(v.content_dir)
    else:
        v.skip(
            item,
            f"{item}: not checked — the image's parts are not included in the bundle; pass "
            "--content-dir DIR to check a copy of its segment files",
        )
        return
    parts = [
        PartContent(
            index=p.index,
            size=h[1].size,
            digests={"sha256": h[1].sha256, "blake3": h[1].blake3},
        )
        if h is not None
        else PartContent(index=p.index, size=None, problem=f"missing from {where}")
        for p, h in zip(record.parts, found, strict=True)
    ]
    paths = [h[0] for h in found if h is not None]
    complete = len(paths) == len(record.parts)
    reading = ContentReading(
        size=None,
        parts=parts,
        media=_media(record, paths) if complete else None,
        order_problem=_order_problem(record, paths) if complete else None,
    )
    findings = image_findings(record, reading)
    for finding in findings:
        v.fail(item, f"{item}: {finding}")
    if findings:
        return
    media = reading.media
    if media is not None and media.unavailable:
        first = paths[0]
        v.skip(
            item,
            f"{item}: container: {len(paths)} part(s) match the INTAKE entry; media: not "
            f"re-read here — {ewf_reader.INSTALL_HINT}, or run ewfverify {first}",
        )
        return
    stored = ", ".join(sorted(record.image.stored_digests)) if record.image else ""
    v.ok(
        item,
        f"{item}: container: {len(paths)} part(s) from {where} match the INTAKE entry, in "
        f"order; media: {', '.join(sorted(media.digests)) if media else '-'} match "
        "image.digests" + (f" and the imager's stored {stored}" if stored else ""),
    )


def _in_bag(v: VerifyContext, rel: str) -> tuple[Path, Hashed] | None:
    hashed = v.hashed(rel)
    return (v.path(rel), hashed) if hashed is not None else None


def _in_dir(
    v: VerifyContext, index: Mapping[int, list[Path]], part: PartRecord
) -> tuple[Path, Hashed] | None:
    """The file in --content-dir with the part's size and SHA-256 (names may differ)."""
    return v.find_copy(index.get(part.size, []), part.digests.get("sha256", ""))


def _order_problem(record: IntakeRecord, paths: Sequence[Path]) -> str | None:
    if record.image is None or record.image.format is not ImageFormat.EWF:
        return None
    heads = []
    for part, path in zip(record.parts, paths, strict=True):
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
            f.seek(max(0, part.size - TAIL_BYTES))
            tail = f.read(TAIL_BYTES)
        heads.append(
            PartHead(index=part.index, name=part.name, size=part.size, head=head, tail=tail)
        )
    try:
        check_ewf_set(heads)
    except CustodyError as e:
        return e.message
    return None


def _media(record: IntakeRecord, paths: Sequence[Path]) -> MediaContent | None:
    image = record.image
    if image is None:
        return None
    algorithms = sorted(set(image.digests) | set(image.stored_digests))
    if image.format is ImageFormat.RAW:
        with MultiHasher(algorithms) as hasher:
            for path in paths:
                if not is_regular(path):
                    return MediaContent(size=None, problem=f"{path} is not a regular file")
                with path.open("rb") as f:
                    while chunk := f.read(CHUNK_SIZE):
                        hasher.update(chunk)
            return MediaContent(size=hasher.size, digests=hasher.hexdigests())
    if not ewf_reader.available():
        return MediaContent(size=None, problem="libewf is not installed", unavailable=True)
    fixed = [str(p) for p in paths]
    try:
        media = ewf_reader.read_ewf(lambda: list(fixed), algorithms)
    except CustodyError as e:
        return MediaContent(size=None, problem=e.message)
    return MediaContent(size=media.size, digests=media.digests, stored_digests=media.stored_digests)
