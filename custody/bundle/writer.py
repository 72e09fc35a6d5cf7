"""Writing a court bundle: check what is given (verify, then persist), then lay out the bag.

The bag is written to a temporary sibling folder and renamed into place at the end, so a
failed export leaves no half-written bundle behind. Content is streamed in 1 MiB chunks and
hashed once; a copy that differs from its recorded digests is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from custody.bundle import bagit
from custody.bundle.anchor_input import check_anchoring
from custody.bundle.data_list import DataListRow, data_list_csv
from custody.bundle.files import BagWriter, fsync_dir
from custody.bundle.model import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    BundleEntry,
    BundleEvidence,
    BundleInput,
)
from custody.bundle.names import (
    check_id,
    entry_file,
    part_file_names,
    safe_file_name,
    timestamp_file,
)
from custody.bundle.readme import ReadmeFacts, readme_en, readme_zh
from custody.bundle.sums import sums_line
from custody.canonical import canonical_json
from custody.case_chain import CaseEntry, walk_case_chain
from custody.case_report import parse_case_report
from custody.certificates import certificate_sha256
from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.errors import BundleError, CustodyError
from custody.ledger import GENESIS_PREV, Action
from custody.merkle import leaf_hash
from custody.report import parse_report, verify_report_signature

REPORT_CERTIFICATE = "ledger/report-certificate.pem"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BundleError(message)


def _check_entry(entry: BundleEntry, checkpoint: Checkpoint) -> dict[str, Any]:
    try:
        value: dict[str, Any] = json.loads(entry.canonical)
    except (ValueError, UnicodeDecodeError) as e:
        raise BundleError(f"ledger entry {entry.seq} is not JSON: {e}") from e
    _require(
        isinstance(value, dict) and canonical_json(value) == entry.canonical,
        f"ledger entry {entry.seq} is not a canonical JSON object",
    )
    _require(value.get("seq") == entry.seq, f"ledger entry {entry.seq} carries another seq")
    try:
        _require(entry.proof.leaf_index == entry.seq, f"proof of {entry.seq} is for another leaf")
        _require(
            entry.proof.tree_size == checkpoint.size,
            f"proof of entry {entry.seq} is not for the checkpoint's tree size",
        )
        entry.proof.verify(leaf_hash=leaf_hash(entry.canonical), root=checkpoint.root)
        if entry.seq == 0:
            _require(value.get("prev") == GENESIS_PREV, "entry 0 must have the genesis prev")
        else:
            prev = entry.prev_proof
            _require(prev is not None, f"entry {entry.seq} has no prev proof")
            assert prev is not None
            _require(
                prev.leaf_index == entry.seq - 1 and prev.tree_size == checkpoint.size,
                f"prev proof of entry {entry.seq} is not for leaf {entry.seq - 1}",
            )
            prev.verify(leaf_hash=bytes.fromhex(str(value.get("prev"))), root=checkpoint.root)
    except (CustodyError, ValueError) as e:
        raise BundleError(f"ledger entry {entry.seq} is not proven: {e}") from e
    return value


def check_input(data: BundleInput) -> tuple[Checkpoint, VerifierKey, dict[int, dict[str, Any]]]:
    """Verify, then persist: refuse inputs whose proofs, signatures or chain do not hold."""
    try:
        verifier = VerifierKey.from_text(data.verifier_key)
        checkpoint = open_checkpoint(data.checkpoint_note, [verifier])
    except CustodyError as e:
        raise BundleError(f"the checkpoint does not verify with the given key: {e}") from e
    check_anchoring(data, checkpoint, verifier)
    seqs = [e.seq for e in data.entries]
    _require(len(set(seqs)) == len(seqs), "the same ledger entry is listed twice")
    values = {entry.seq: _check_entry(entry, checkpoint) for entry in data.entries}
    walk = walk_case_chain(
        data.case_number,
        [
            CaseEntry(seq=e.seq, hash=leaf_hash(e.canonical).hex(), value=values[e.seq])
            for e in data.entries
        ],
        checkpoint.size - 1,
    )
    _require(walk.ok, "the entries are not the case's whole chain: " + "; ".join(walk.problems))
    export = values[checkpoint.size - 1]
    _require(
        export.get("action") == Action.EXPORT,
        f"the checkpoint's last entry {checkpoint.size - 1} is not the case's export entry",
    )
    ids = [check_id(ev.id) for ev in data.evidence]
    _require(len(set(ids)) == len(ids), "the same evidence item is listed twice")
    listed = (export.get("details") or {}).get("evidence")
    _require(
        isinstance(listed, list) and sorted(map(str, listed)) == sorted(ids),
        "the items given are not those the export entry lists",
    )
    intakes = {
        str(v.get("evidence")): v for v in values.values() if v.get("action") == Action.INTAKE
    }
    for ev in data.evidence:
        try:
            verify_report_signature(ev.report_json, ev.report_signature, [verifier])
            report = parse_report(ev.report_json)
        except CustodyError as e:
            raise BundleError(f"report of {ev.id}: {e}") from e
        _require(
            canonical_json(json.loads(ev.report_json)) == ev.report_json,
            f"report of {ev.id} is not canonical JSON",
        )
        _require(report.evidence_id == ev.id, f"report of {ev.id} is about another item")
        _require(
            report.recorded_digests() == ev.digests and report.size_recorded == ev.size,
            f"report of {ev.id} records other digests or size than the evidence",
        )
        _require({"sha256", "blake3"} <= set(ev.digests), f"{ev.id} lacks sha256 or blake3")
        intake = intakes.get(ev.id)
        _require(intake is not None, f"the INTAKE ledger entry of {ev.id} is not among the entries")
        assert intake is not None
        details = intake.get("details") or {}
        _require(
            details.get("digests") == ev.digests and details.get("size") == ev.size,
            f"the INTAKE entry of {ev.id} records other digests or size than the evidence",
        )
    if data.case_report is not None:
        try:
            verify_report_signature(data.case_report.json, data.case_report.signature, [verifier])
            case_report = parse_case_report(data.case_report.json)
        except CustodyError as e:
            raise BundleError(f"the case report: {e}") from e
        _require(
            case_report.case_number == data.case_number, "the case report is about another case"
        )
    if data.report_certificate_pem is not None:
        try:
            certificate_sha256(data.report_certificate_pem)
        except ValueError as e:
            raise BundleError(f"the report certificate is not a PEM certificate: {e}") from e
    return checkpoint, verifier, values


def write_bundle(
    data: BundleInput,
    out_dir: Path,
    *,
    with_content: bool,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the bag at ``out_dir`` (absent or empty); return it. Raises BundleError.

    With ``with_content``, each item's ``content_path`` is copied in (and checked against
    its recorded digests); an item without one is bundled without content.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BundleError(f"{out_dir} is not empty; choose a new folder for the bundle")
    checkpoint, _, values = check_input(data)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        _write_bag(data, tmp, checkpoint, values, with_content=with_content, progress=progress)
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.rename(tmp, out_dir)
        fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _write_items(
    bag: BagWriter,
    data: BundleInput,
    *,
    with_content: bool,
    progress: Callable[[int], None] | None,
) -> tuple[list[dict[str, Any]], list[DataListRow]]:
    items: list[dict[str, Any]] = []
    rows: list[DataListRow] = []
    for number, ev in enumerate(data.evidence, start=1):
        base = f"evidence/{ev.id}"
        bag.write(f"data/{base}/report.json", ev.report_json)
        bag.write(f"data/{base}/report.json.sig", ev.report_signature.encode())
        bag.write(f"data/{base}/report.html", ev.report_html.encode())
        bag.write(f"data/{base}/report.pdf", ev.report_pdf)
        content_rel: str | None = None
        if with_content and ev.content_path is not None:
            content_rel = f"{base}/content/{safe_file_name(ev.file_name)}"
            written = bag.copy(f"data/{content_rel}", Path(ev.content_path), progress)
            if (
                written.size != ev.size
                or written.sha256 != ev.digests["sha256"]
                or written.blake3 != ev.digests["blake3"]
            ):
                raise BundleError(
                    f"content of {ev.id} ({ev.content_path}) does not match its recorded "
                    "digests; refusing to export a copy that differs from the evidence"
                )
        part_rels = _write_parts(bag, ev, progress) if with_content and ev.part_paths else []
        items.append(
            {
                "item": number,
                "id": ev.id,
                "file_name": ev.file_name,
                "content_type": ev.content_type,
                "category": ev.category,
                "size": ev.size,
                "digests": dict(ev.digests),
                "declared_digests": dict(ev.declared_digests),
                "seal_no": ev.seal_no,
                "description": ev.description,
                "intake_time": ev.intake_time,
                "technician": ev.technician,
                "technician_department": ev.technician_department,
                "report": f"{base}/report.json",
                "report_hash": hashlib.sha256(ev.report_json).hexdigest(),
                "content": content_rel,
                "format": ev.format,
                "parts": [
                    {
                        **{k: p[k] for k in ("index", "name", "size", "digests") if k in p},
                        **({"content": part_rels[i]} if part_rels else {}),
                    }
                    for i, p in enumerate(ev.parts)
                ],
                "image": ev.image,
                "derived_from": ev.derived_from,
            }
        )
        rows.append(
            DataListRow(
                item=number,
                evidence_id=ev.id,
                case=ev.case,
                category=ev.category,
                file_name=ev.file_name,
                format=ev.content_type
                if ev.format == "file"
                else f"{ev.format} ({ev.content_type})",
                description=ev.description,
                seal_no=ev.seal_no,
                size=ev.size,
                digests=dict(ev.digests),
                declared=dict(ev.declared_digests),
                media_digests=dict((ev.image or {}).get("digests") or {}),
                stored_digests=dict((ev.image or {}).get("stored_digests") or {}),
                parts="; ".join(
                    f"{p.get('name')} sha256={(p.get('digests') or {}).get('sha256')}"
                    for p in ev.parts
                ),
                intake_time=ev.intake_time,
                technician=ev.technician,
                technician_department=ev.technician_department,
                storage=f"{ev.storage} ({ev.retention_mode})" if ev.retention_mode else ev.storage,
                retention_until=ev.retention_until,
            )
        )
    return items, rows


def _write_parts(
    bag: BagWriter, ev: BundleEvidence, progress: Callable[[int], None] | None
) -> list[str]:
    """Copy an image's parts into ``evidence/{id}/parts/`` under the imager's names, each
    checked against its own recorded digests; return their bag paths (below ``data/``)."""
    if len(ev.part_paths) != len(ev.parts):
        raise BundleError(
            f"{ev.id}: {len(ev.part_paths)} part files given for {len(ev.parts)} recorded parts"
        )
    names = part_file_names([str(p.get("name") or "") for p in ev.parts])
    rels = []
    for part, path, name in zip(ev.parts, ev.part_paths, names, strict=True):
        rel = f"evidence/{ev.id}/parts/{name}"
        written = bag.copy(f"data/{rel}", Path(path), progress)
        recorded = part.get("digests") or {}
        if (
            written.size != part.get("size")
            or written.sha256 != recorded.get("sha256")
            or ("blake3" in recorded and written.blake3 != recorded["blake3"])
        ):
            raise BundleError(
                f"part {part.get('index')} ({part.get('name')}) of {ev.id} ({path}) does not "
                "match its recorded digests; refusing to export a copy that differs"
            )
        rels.append(rel)
    return rels


def _write_anchoring(bag: BagWriter, data: BundleInput) -> None:
    """Tokens, rotations (with proofs) and the witness keys the log named (not trusted)."""
    for number, token in enumerate(data.timestamps):
        bag.write(f"data/ledger/timestamps/{timestamp_file(number)}", token)
    for rotation in data.rotations:
        name = entry_file(rotation.seq)
        bag.write(f"data/ledger/rotations/entries/{name}", rotation.canonical)
        bag.write(f"data/ledger/rotations/proofs/{name}", canonical_json(rotation.proof.to_json()))
    if data.witness_keys:
        keys = "".join(k.strip() + "\n" for k in data.witness_keys)
        bag.write("data/ledger/witness-keys.txt", keys.encode())


def _write_tags(bag: BagWriter, data: BundleInput) -> None:
    listed = sorted(bag.payload.items())
    sha_lines = [sums_line(w.sha256, rel.removeprefix("data/")) for rel, w in listed]
    b3_lines = [sums_line(w.blake3, rel.removeprefix("data/")) for rel, w in listed]
    bag.write("data/SHA256SUMS", "".join(sha_lines).encode())
    bag.write("data/B3SUMS", "".join(b3_lines).encode())
    octets = sum(w.size for w in bag.payload.values())
    external = (
        f"Court bundle of case {data.case_number} ({data.case_title}); "
        f"purpose: {data.purpose}; exported at {data.exported_at} by {data.exported_by}"
    )
    info = [
        ("Source-Organization", data.exported_by_department),
        ("Contact-Name", data.exported_by),
        ("External-Description", external),
        ("External-Identifier", data.case_number),
        ("Bagging-Date", data.exported_at[:10]),
        ("Payload-Oxum", f"{octets}.{len(bag.payload)}"),
        ("Bag-Software-Agent", bagit.SOFTWARE_AGENT),
    ]
    tags = {
        "bagit.txt": bagit.bagit_txt(),
        "bag-info.txt": bagit.bag_info(info),
        "manifest-sha256.txt": bagit.manifest({r: w.sha256 for r, w in bag.payload.items()}),
    }
    tag_digests = {name: bag.write(name, text.encode()).sha256 for name, text in tags.items()}
    bag.write("tagmanifest-sha256.txt", bagit.manifest(tag_digests).encode())


def _write_bag(
    data: BundleInput,
    root: Path,
    checkpoint: Checkpoint,
    values: Mapping[int, Mapping[str, Any]],
    *,
    with_content: bool,
    progress: Callable[[int], None] | None,
) -> None:
    bag = BagWriter(root)
    entries = sorted(data.entries, key=lambda e: e.seq)
    facts = ReadmeFacts(
        case_number=data.case_number,
        case_title=data.case_title,
        classification=data.case_classification,
        secrecy_mark=data.secrecy_mark,
        copy_no=data.copy_no,
        exported_at=data.exported_at,
        exported_by=data.exported_by,
        department=data.exported_by_department,
        purpose=data.purpose,
        verifier_key=data.verifier_key,
        checkpoint=checkpoint,
        export_seq=checkpoint.size - 1,
        first_seq=entries[0].seq,
        entry_count=len(entries),
        with_content=with_content,
    )
    bag.write("data/README.zh.txt", readme_zh(facts).encode())
    bag.write("data/README.en.txt", readme_en(facts).encode())
    items, rows = _write_items(bag, data, with_content=with_content, progress=progress)
    for entry in entries:
        name = entry_file(entry.seq)
        bag.write(f"data/ledger/entries/{name}", entry.canonical)
        proofs = {
            "inclusion": entry.proof.to_json(),
            "prev": entry.prev_proof.to_json() if entry.prev_proof is not None else None,
        }
        bag.write(f"data/ledger/proofs/{name}", canonical_json(proofs))
    bag.write("data/ledger/checkpoint.txt", data.checkpoint_note.encode())
    bag.write("data/ledger/verifier-key.txt", (data.verifier_key.strip() + "\n").encode())
    if data.consistency is not None:
        bag.write("data/ledger/consistency.json", canonical_json(data.consistency))
    certificate = None
    if data.report_certificate_pem is not None:
        bag.write(f"data/{REPORT_CERTIFICATE}", data.report_certificate_pem.encode("ascii"))
        certificate = {
            "file": REPORT_CERTIFICATE,
            "sha256": certificate_sha256(data.report_certificate_pem),
        }
    case_report = None
    if data.case_report is not None:
        bag.write("data/case-report.json", data.case_report.json)
        bag.write("data/case-report.json.sig", data.case_report.signature.encode())
        bag.write("data/case-report.pdf", data.case_report.pdf)
        bag.write("data/case-report.html", data.case_report.html.encode())
        case_report = {
            "json": "case-report.json",
            "pdf": "case-report.pdf",
            "html": "case-report.html",
            "hash": hashlib.sha256(data.case_report.json).hexdigest(),
        }
    _write_anchoring(bag, data)
    export_details = values[checkpoint.size - 1].get("details") or {}
    case = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "case": {
            "number": data.case_number,
            "title": data.case_title,
            "classification": data.case_classification,
            **({"secrecy_mark": data.secrecy_mark} if data.secrecy_mark else {}),
        },
        "export": {
            "exported_at": data.exported_at,
            "exported_by": data.exported_by,
            "department": data.exported_by_department,
            "purpose": data.purpose,
            "with_content": with_content,
            **({"copy_no": data.copy_no} if data.copy_no is not None else {}),
            "entry": checkpoint.size - 1,
            "disposed": list(export_details.get("disposed") or []),
        },
        "checkpoint": {
            "origin": checkpoint.origin,
            "tree_size": checkpoint.size,
            "file": "ledger/checkpoint.txt",
        },
        "verifier_key": data.verifier_key.strip(),
        "entries": [e.seq for e in entries],
        "consistency": "ledger/consistency.json" if data.consistency is not None else None,
        "report_certificate": certificate,
        "case_report": case_report,
        "witnesses": [k.strip() for k in data.witness_keys],
        "timestamps": [
            f"ledger/timestamps/{timestamp_file(i)}" for i in range(len(data.timestamps))
        ],
        "rotations": [r.seq for r in data.rotations],
        "evidence": items,
    }
    bag.write("data/case.json", _json_bytes(case))
    bag.write("data/data-list.csv", data_list_csv(rows).encode("utf-8"))
    _write_tags(bag, data)
    bag.fsync_tree()
