"""Export from the browser: the court bundle the CLI would write, built here and zipped.

The steps are the CLI's (``custody export --with-content``): the API's export (every item
re-verified, the EXPORT entry recorded, a checkpoint ending at it), then each item's
content read exactly as ``GET /evidence/{id}/content`` reads it (authorized and recorded as
a download with the stated purpose, checked against the recorded digests), then the same
``bundle_input`` and ``write_bundle``. The bag is zipped in a private temporary folder
that the response removes once sent.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from api.context import AppContext
from api.routers.verifications import ExportRequest, export_case
from api.services import content
from custody.bundle import write_bundle
from custody.bundle.package import bundle_input, is_image, save_checked
from custody.ledger import rfc3339, utc_now
from custody.models import Account

STORED_FROM = 1024 * 1024  # larger members are stored, not deflated: evidence rarely shrinks
STALE_SECONDS = 24 * 3600  # scratch folders a crash left behind are removed after a day


@dataclass(frozen=True, kw_only=True)
class ExportedZip:
    path: Path
    folder: Path  # remove once sent
    download_name: str


def safe_name(number: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", number)


def work_dir(ctx: AppContext) -> Path:
    """Private scratch space on the data volume (bundles can be as large as the evidence)."""
    base = ctx.settings.data_dir / "web-tmp"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    cutoff = time.time() - STALE_SECONDS
    for old in base.glob("web-*"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix="web-", dir=base))


def read_content(
    ctx: AppContext,
    session: Session,
    account: Account,
    item: dict[str, Any],
    purpose: str,
    target: Path,
    *,
    part: int | None = None,
) -> Path:
    """One item's bytes (or one part's) as the download routes serve them: authorized,
    recorded before and after, checked against the recorded digests."""
    serving = content.start(ctx, session, account, str(item["id"]), purpose, part=part)
    delivery = serving.delivery

    def counted() -> Iterator[bytes]:
        for chunk in content.chunks(ctx, serving):
            delivery.bytes_sent += len(chunk)
            yield chunk
        delivery.exhausted = True

    label = serving.row.id if part is None else f"{serving.row.id} part {part}"
    try:
        return save_checked(counted(), target, evidence_id=label, digests=serving.digests)
    except Exception as e:
        delivery.error = type(e).__name__
        raise
    finally:
        content.end(ctx, account, serving)


def _zip(folder: Path, bag: Path, name: str) -> Path:
    target = folder / f"{name}.zip"
    with zipfile.ZipFile(target, "w", allowZip64=True) as zf:
        for path in sorted(bag.rglob("*")):
            arcname = f"{name}/{path.relative_to(bag).as_posix()}"
            if path.is_dir():
                continue
            method = (
                zipfile.ZIP_STORED if path.stat().st_size >= STORED_FROM else zipfile.ZIP_DEFLATED
            )
            zf.write(path, arcname, compress_type=method)
    return target


def export_zip(
    ctx: AppContext,
    session: Session,
    account: Account,
    number: str,
    purpose: str,
    *,
    with_content: bool,
) -> ExportedZip:
    """Export the case (recorded), then build and zip its bag; the caller sends and removes it."""
    package = export_case(number, ExportRequest(purpose=purpose), ctx, session, account)
    folder = work_dir(ctx)
    try:
        whole: dict[str, Path] = {}
        parts: dict[str, list[Path]] = {}
        if with_content:
            (folder / "content").mkdir()
            for item in package["items"]:
                ev = item["evidence"]
                if not is_image(ev):
                    whole[ev["id"]] = read_content(
                        ctx, session, account, ev, purpose, folder / "content" / ev["id"]
                    )
                    continue
                (folder / "content" / ev["id"]).mkdir()
                parts[ev["id"]] = [
                    read_content(
                        ctx,
                        session,
                        account,
                        ev,
                        purpose,
                        folder / "content" / ev["id"] / f"{p['index']:04d}",
                        part=p["index"],
                    )
                    for p in ev["parts"]
                ]
        data = bundle_input(package, content=whole, parts=parts, exported_at=rfc3339(utc_now()))
        name = f"bundle-{safe_name(number)}-{package['export_seq']}"
        bag = write_bundle(data, folder / name, with_content=with_content)
        path = _zip(folder, bag, name)
        shutil.rmtree(bag)
        if with_content:
            shutil.rmtree(folder / "content")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ExportedZip(path=path, folder=folder, download_name=path.name)


def case_report_pdf(
    ctx: AppContext, session: Session, account: Account, number: str, purpose: str
) -> bytes:
    """The signed case report, which the service makes only as part of a (recorded) export."""
    import base64

    package = export_case(number, ExportRequest(purpose=purpose), ctx, session, account)
    return base64.b64decode(package["case_report"]["pdf"])
