"""``custody export CASE --out DIR``: fetch the export package, then write a BagIt bundle."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.client import ApiClient
from cli.evidence import progress_bar
from cli.output import JsonOpt, emit_json, out
from custody.bundle import (
    BundleEntry,
    BundleEvidence,
    BundleInput,
    CaseReportFiles,
    write_bundle,
)
from custody.digests import CHUNK_SIZE, MultiHasher
from custody.errors import InputError, VerificationError
from custody.ledger import rfc3339, utc_now
from custody.merkle import parse_inclusion_proof


def _category(content_type: str) -> str:
    return content_type.split("/", 1)[0] if "/" in content_type else content_type


def _download(api: ApiClient, ev: dict[str, Any], purpose: str, into: Path, advance: Any) -> Path:
    """Stream the content to a temp file, checking it against the recorded digests."""
    target = into / str(ev["id"])
    with (
        api.stream(f"/api/v1/evidence/{ev['id']}/content", params={"purpose": purpose}) as r,
        MultiHasher() as hasher,
        target.open("wb") as f,
    ):
        for chunk in r.iter_bytes(CHUNK_SIZE):
            hasher.update(chunk)
            f.write(chunk)
            advance(len(chunk))
        got = hasher.hexdigests()
    for algo in ("sha256", "blake3"):
        if got[algo] != ev["digests"][algo]:
            raise VerificationError(
                f"content of {ev['id']} arrived with {algo} {got[algo]}, recorded "
                f"{ev['digests'][algo]}: refusing to bundle it"
            )
    return target


def _bundle_evidence(
    item: dict[str, Any], content_path: Path | None, intake_times: dict[str, str]
) -> BundleEvidence:
    ev = item["evidence"]
    return BundleEvidence(
        id=ev["id"],
        case=ev["case"],
        file_name=ev["original_filename"],
        content_type=ev["content_type"],
        category=_category(ev["content_type"]),
        size=ev["size"],
        digests=ev["digests"],
        declared_digests=ev["declared_digests"],
        seal_no=ev["seal_no"],
        description=ev["description"],
        intake_time=intake_times.get(ev["id"], ev["intake_time"]),
        technician=ev["technician"],
        technician_department=ev["technician_department"],
        storage=ev["storage"],
        retention_mode=ev["retention_mode"],
        retention_until=ev["state"]["retention_until"],
        report_json=base64.b64decode(item["report_json"]),
        report_signature=item["report_signature"],
        report_html=item["report_html"],
        report_pdf=base64.b64decode(item["report_pdf"]),
        content_path=content_path,
    )


def bundle_input(
    package: dict[str, Any], *, content: dict[str, Path], exported_at: str
) -> BundleInput:
    """The server's export package (``POST /cases/{n}/exports``) as bundle values.

    Intake times are taken verbatim from the INTAKE entries, so the data list shows exactly
    what the ledger records.
    """
    intake_times = {
        str(v["evidence"]): str(v["time"])
        for v in (json.loads(base64.b64decode(e["canonical"])) for e in package["entries"])
        if v.get("action") == "evidence.intake"
    }
    evidence = [
        _bundle_evidence(i, content.get(i["evidence"]["id"]), intake_times)
        for i in package["items"]
    ]
    entries = [
        BundleEntry(
            seq=e["seq"],
            canonical=base64.b64decode(e["canonical"]),
            proof=parse_inclusion_proof(e["proof"]),
            prev_proof=parse_inclusion_proof(e["prev_proof"]) if e["prev_proof"] else None,
        )
        for e in package["entries"]
    ]
    return BundleInput(
        case_number=package["case"]["number"],
        case_title=package["case"]["title"],
        case_classification=package["case"]["classification"],
        exported_at=exported_at,
        exported_by=package["exported_by"],
        exported_by_department=package["exported_by_department"],
        purpose=package["purpose"],
        evidence=evidence,
        entries=entries,
        checkpoint_note=package["checkpoint"],
        verifier_key=package["verifier_key"],
        report_certificate_pem=(package.get("report_certificate") or {}).get("pem"),
        case_report=_case_report(package.get("case_report")),
        witness_keys=list(package.get("witness_keys") or []),
        timestamps=[base64.b64decode(t["token"]) for t in package.get("timestamps") or []],
        rotations=[
            BundleEntry(
                seq=r["seq"],
                canonical=base64.b64decode(r["canonical"]),
                proof=parse_inclusion_proof(r["proof"]),
            )
            for r in package.get("rotations") or []
        ],
    )


def _case_report(value: dict[str, Any] | None) -> CaseReportFiles | None:
    """The export's signed case report (one PDF for the whole case), if the server made one."""
    if not value:
        return None
    return CaseReportFiles(
        json=base64.b64decode(value["json"]),
        signature=value["signature"],
        pdf=base64.b64decode(value["pdf"]),
        html=value["html"],
    )


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
        if with_content:
            total = sum(i["evidence"]["size"] for i in downloadable)
            task = progress.add_task("download", total=total)
            for item in downloadable:
                content[item["evidence"]["id"]] = _download(
                    api,
                    item["evidence"],
                    purpose,
                    Path(tmp),
                    lambda n: progress.update(task, advance=n),
                )
        data = bundle_input(package, content=content, exported_at=rfc3339(utc_now()))
        total_bytes = sum(p.stat().st_size for p in content.values())
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
