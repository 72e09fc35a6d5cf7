"""Handing out an item's stored bytes: the whole item, or one part of an image.

One path for the download routes and the web export, so every delivery is authorized the
same way, recorded before the first byte (``evidence.download``) and after the last
(``evidence.download_ended``), and served from what the INTAKE entry pinned, never from the
row. For an image of several parts the whole item is the parts joined in order, which is
what its top-level digests describe (``cat img.E0? | sha256sum``); one part is one segment
file as the imager wrote it, so a court can run ``ewfverify`` on the parts it receives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.authz import authorized_evidence, require_purpose
from api.context import AppContext
from api.downloads import Delivery
from api.services import secrecy
from api.services.evidence_view import intake_of, record_touch
from custody import policy
from custody.errors import UnknownPart
from custody.images.record import PartRecord
from custody.ledger import Action
from custody.models import Account, Evidence


@dataclass(frozen=True, kw_only=True)
class Serving:
    """What one recorded delivery hands over, and how it is labelled."""

    row: Evidence
    parts: tuple[PartRecord, ...]  # served in this order, joined
    filename: str
    content_type: str
    size: int
    digests: Mapping[str, str]
    delivery: Delivery
    copy_no: int | None
    part: int | None  # the part's index when one part is served
    opened: Iterator[bytes]  # the first part, opened before anything was recorded


def start(
    ctx: AppContext,
    session: Session,
    account: Account,
    evidence_id: str,
    purpose: str | None,
    *,
    part: int | None = None,
) -> Serving:
    """Authorize, pick what is served, and commit the ``evidence.download`` entry.

    Raises the authorization errors (403/404), PurposeRequired, UnknownPart when the item
    has no part ``part``, or ObjectMissing (409) when its content is gone (disposed): the
    first stored object is opened before the entry is written, so a refusal records no
    download and is answered before the response begins.
    """
    row, _ = authorized_evidence(
        session, account, policy.Permission.EVIDENCE_DOWNLOAD, evidence_id, purpose=purpose
    )
    stated = require_purpose(policy.Permission.EVIDENCE_DOWNLOAD, purpose)
    record = intake_of(session, row.id)
    stored = record.stored_parts()
    if part is None:
        parts, filename, size, digests = stored, record.filename, record.size, record.digests
    else:
        chosen = next((p for p in stored if p.index == part), None)
        if chosen is None or not record.parts:
            raise UnknownPart(
                f"evidence {row.id} has no part {part}: it has "
                + (
                    f"parts 1–{len(record.parts)}"
                    if record.parts
                    else "no parts (it is one file; download /content)"
                )
            )
        parts, filename, size, digests = (chosen,), chosen.name, chosen.size, chosen.digests
    opened = ctx.store.open(parts[0].object_key, parts[0].object_version)
    delivery = Delivery(download_id=str(uuid.uuid4()), size=size)
    copy_no = secrecy.next_copy_number(session, row.case_number)  # 第 N 份, under the lock
    record_touch(
        session,
        account,
        Action.DOWNLOAD,
        row,
        {
            "purpose": stated,
            "download_id": delivery.download_id,
            "object_size": size,
            **({"part": part} if part is not None else {}),
            **({"copy_no": copy_no} if copy_no is not None else {}),
        },
    )
    session.commit()
    return Serving(
        row=row,
        parts=tuple(parts),
        filename=filename or record.filename,
        content_type=record.content_type,
        size=size,
        digests=digests,
        delivery=delivery,
        copy_no=copy_no,
        part=part,
        opened=opened,
    )


def chunks(ctx: AppContext, serving: Serving) -> Iterator[bytes]:
    """The served parts' bytes in order; each later stored object is opened when reached."""
    yield from serving.opened
    for p in serving.parts[1:]:
        yield from ctx.store.open(p.object_key, p.object_version)


def end(ctx: AppContext, account: Account, serving: Serving) -> None:
    """Append ``evidence.download_ended`` with what was handed over, in its own session."""
    with ctx.session() as s:
        record_touch(s, account, Action.DOWNLOAD_ENDED, serving.row, serving.delivery.details())
        s.commit()
