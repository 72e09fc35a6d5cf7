"""The server's export package (``POST /api/v1/cases/{n}/exports``) as bundle values.

The CLI (``custody export``) and the web interface both turn the same package into the same
bag through :func:`bundle_input`, so a bundle made in the browser is byte for byte the kind
a court gets from the CLI. Pure: JSON values and local content paths in, values out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from custody.bundle.model import BundleEntry, BundleEvidence, BundleInput, CaseReportFiles
from custody.digests import MultiHasher
from custody.errors import VerificationError
from custody.ledger import Action
from custody.merkle import parse_inclusion_proof


def _category(content_type: str) -> str:
    return content_type.split("/", 1)[0] if "/" in content_type else content_type


def _bundle_evidence(
    item: dict[str, Any],
    content_path: Path | None,
    part_paths: Sequence[Path],
    intake_times: dict[str, str],
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
        format=ev.get("format", "file"),
        parts=list(ev.get("parts") or []),
        image=ev.get("image"),
        derived_from=ev.get("derived_from"),
        part_paths=tuple(part_paths),
    )


def is_image(evidence: Mapping[str, Any]) -> bool:
    """Whether an item's content is bundled part by part (an image) rather than as one file."""
    return bool(evidence.get("parts")) and evidence.get("format", "file") != "file"


def bundle_input(
    package: dict[str, Any],
    *,
    content: Mapping[str, Path],
    exported_at: str,
    parts: Mapping[str, Sequence[Path]] | None = None,
) -> BundleInput:
    """The server's export package (``POST /cases/{n}/exports``) as bundle values.

    ``content`` holds each opaque item's downloaded file and ``parts`` each image's part
    files, in order (an image is bundled as the segment files the imager wrote).

    Intake times are taken verbatim from the INTAKE entries, so the data list shows exactly
    what the ledger records.
    """
    intake_times = {
        str(v["evidence"]): str(v["time"])
        for v in (json.loads(base64.b64decode(e["canonical"])) for e in package["entries"])
        if v.get("action") == Action.INTAKE
    }
    evidence = [
        _bundle_evidence(
            i,
            content.get(i["evidence"]["id"]),
            (parts or {}).get(i["evidence"]["id"], ()),
            intake_times,
        )
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
        secrecy_mark=package["case"].get("secrecy_mark"),
        copy_no=_export_copy_no(entries),
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


def save_checked(
    chunks: Iterable[bytes],
    target: Path,
    *,
    evidence_id: str,
    digests: Mapping[str, str],
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write an item's content to ``target`` while hashing it, and refuse a copy whose
    SHA-256 or BLAKE3 differ from the recorded ones: a bundle never carries other bytes."""
    with MultiHasher() as hasher, target.open("wb") as f:
        for chunk in chunks:
            hasher.update(chunk)
            f.write(chunk)
            if progress is not None:
                progress(len(chunk))
        got = hasher.hexdigests()
    for algorithm in ("sha256", "blake3"):
        if got[algorithm] != digests[algorithm]:
            raise VerificationError(
                f"content of {evidence_id} arrived with {algorithm} {got[algorithm]}, recorded "
                f"{digests[algorithm]}: refusing to bundle it"
            )
    return target


def _export_copy_no(entries: list[BundleEntry]) -> int | None:
    """The copy number the EXPORT entry (the chain's head) records, not the package's word."""
    if not entries:
        return None
    head = json.loads(max(entries, key=lambda e: e.seq).canonical)
    number = (head.get("details") or {}).get("copy_no")
    return number if isinstance(number, int) else None
