"""``custody export CASE --out DIR``: fetch the export package, then write a BagIt bundle."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.client import ApiClient
from cli.evidence import progress_bar
from cli.output import JsonOpt, emit_json, out
from custody.bundle import write_bundle
from custody.bundle.package import bundle_input, is_image, save_checked
from custody.digests import CHUNK_SIZE
from custody.errors import InputError
from custody.ledger import rfc3339, utc_now


def _download(
    api: ApiClient,
    url: str,
    target: Path,
    *,
    label: str,
    digests: dict[str, str],
    purpose: str,
    advance: Any,
) -> Path:
    """Stream content to a temp file, checking it against the recorded digests."""
    with api.stream(url, params={"purpose": purpose}) as r:
        return save_checked(
            r.iter_bytes(CHUNK_SIZE), target, evidence_id=label, digests=digests, progress=advance
        )


def _download_item(
    api: ApiClient, ev: dict[str, Any], purpose: str, into: Path, advance: Any
) -> tuple[Path | None, list[Path]]:
    """An opaque item as one file; an image as its parts, each checked on its own."""
    base = f"/api/v1/evidence/{ev['id']}"
    if not is_image(ev):
        target = into / str(ev["id"])
        return _download(
            api,
            f"{base}/content",
            target,
            label=str(ev["id"]),
            digests=ev["digests"],
            purpose=purpose,
            advance=advance,
        ), []
    folder = into / str(ev["id"])
    folder.mkdir()
    paths = [
        _download(
            api,
            f"{base}/parts/{p['index']}/content",
            folder / f"{p['index']:04d}",
            label=f"{ev['id']} part {p['index']} ({p.get('name')})",
            digests=p["digests"],
            purpose=purpose,
            advance=advance,
        )
        for p in ev["parts"]
    ]
    return None, paths


def export_bundle(
    api: ApiClient, case: str, out_dir: Path, *, purpose: str, with_content: bool, quiet: bool
) -> dict[str, Any]:
    package = api.post(f"/api/v1/cases/{case}/exports", json={"purpose": purpose}).json()
    downloadable = package["items"]  # the server leaves disposed items out
    with (
        tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".export-") as tmp,
        progress_bar(quiet) as progress,
    ):
        content: dict[str, Path] = {}
        parts: dict[str, list[Path]] = {}
        if with_content:
            total = sum(i["evidence"]["size"] for i in downloadable)
            task = progress.add_task("download", total=total)
            for item in downloadable:
                whole, pieces = _download_item(
                    api,
                    item["evidence"],
                    purpose,
                    Path(tmp),
                    lambda n: progress.update(task, advance=n),
                )
                if whole is not None:
                    content[item["evidence"]["id"]] = whole
                if pieces:
                    parts[item["evidence"]["id"]] = pieces
        data = bundle_input(package, content=content, parts=parts, exported_at=rfc3339(utc_now()))
        files = [*content.values(), *(p for pieces in parts.values() for p in pieces)]
        total_bytes = sum(p.stat().st_size for p in files)
        task = progress.add_task("bundle", total=total_bytes or None)
        write_bundle(
            data,
            out_dir,
            with_content=with_content,
            progress=lambda n: progress.update(task, advance=n),
        )
    return {
        "bundle": str(out_dir),
        "case": case,
        "items": len(data.evidence),
        "entries": len(data.entries),
        "with_content": with_content,
        "reports": {i["evidence"]["id"]: i["report_hash"] for i in package["items"]},
        "disposed": package["disposed"],
    }


def export(
    case: Annotated[str, typer.Argument(help="Case number.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New directory for the bundle.")],
    purpose: Annotated[str, typer.Option(help="Why the bundle is made (recorded).")],
    with_content: Annotated[
        bool, typer.Option("--with-content", help="Include the evidence bytes (needs download).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Write a court bundle (BagIt) with reports, ledger entries, proofs and the checkpoint."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir} exists and is not empty; choose a new directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists():
        os.rmdir(out_dir)
    with ApiClient() as api:
        summary = export_bundle(
            api, case, out_dir, purpose=purpose, with_content=with_content, quiet=json_output
        )
    if json_output:
        emit_json(summary)
    else:
        out.print(
            f"OK: bundle for case {case} written to {out_dir} ({summary['items']} items, "
            f"{summary['entries']} ledger entries{', with content' if with_content else ''})",
            markup=False,
        )
        out.print(f"Check it: custody verify-bundle {out_dir} --trusted-key KEY", markup=False)
