"""Verification steps for the items: case.json, the data list, reports and content.

The values that count are those of each item's INTAKE entry (already proven by
custody.bundle.verify_ledger); case.json, the data list and the reports must repeat them.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from custody.bundle import verify_parts
from custody.bundle.context import VerifyContext
from custody.bundle.data_list import DataListRow, parse_data_list_csv
from custody.bundle.files import Hashed
from custody.bundle.names import SAFE_ID
from custody.canonical import canonical_json
from custody.checkpoint import open_checkpoint
from custody.errors import CustodyError
from custody.merkle import leaf_hash, parse_inclusion_proof
from custody.report import VerificationReport, parse_report, verify_report_signature


def check_case(v: VerifyContext) -> None:
    raw = v.read("data/case.json")
    if raw is None:
        v.fail("data/case.json", "file deleted from the bag: data/case.json")
    else:
        value = json.loads(raw)
        if not isinstance(value, dict) or not isinstance(value.get("evidence"), list):
            v.fail("data/case.json", "data/case.json: not a case description")
        else:
            v.case = value
            v.ok(
                "data/case.json",
                f"data/case.json: case {v.case_number}, {len(value['evidence'])} evidence item(s)",
            )
    raw_list = v.read("data/data-list.csv")
    if raw_list is None:
        v.fail("data/data-list.csv", "file deleted from the bag: data/data-list.csv")
    else:
        v.data_list = parse_data_list_csv(raw_list.decode("utf-8"))


def _differences(item: str, recorded: Mapping[str, str], other: object, where: str) -> list[str]:
    if not isinstance(other, Mapping):
        return [f"{item}: {where} gives no digests"]
    problems = []
    for algorithm in sorted(set(recorded) | set(other)):
        mine, theirs = recorded.get(algorithm), other.get(algorithm)
        if mine != theirs:
            problems.append(
                f"{item}: recorded {algorithm} {mine or '(none)'} differs from {where} "
                f"({theirs or '(none)'})"
            )
    return problems


def check_data_list(v: VerifyContext) -> None:
    """Each row repeats its item's INTAKE entry; one row per exported item, no other."""
    item = "data/data-list.csv"
    if v.data_list is None:
        return
    intakes = v.intake_entries()
    listed = v.case_items()
    problems: list[str] = []
    seen: set[str] = set()
    for row in v.data_list:
        where = f"{item} row {row.item} ({row.evidence_id})"
        seen.add(row.evidence_id)
        if row.evidence_id not in listed:
            problems.append(f"{where}: not an item of data/case.json — a row was added")
        intake = intakes.get(row.evidence_id)
        if intake is None:
            problems.append(f"{where}: the bundle holds no INTAKE entry for it")
            continue
        seq, value = intake
        details = value.get("details") or {}
        source = f"INTAKE entry {seq}"
        problems.extend(_differences(where, row.digests, details.get("digests"), source))
        facts = {
            "size": (row.size, details.get("size")),
            "seal number": (row.seal_no, details.get("seal_no")),
            "file name": (row.file_name, details.get("filename")),
            "case": (row.case, value.get("case")),
            "intake time": (row.intake_time, value.get("time")),
            "technician": (row.technician, value.get("actor")),
        }
        for name, (shown, recorded) in facts.items():
            if shown != recorded:
                problems.append(f"{where}: {name} {shown!r} differs from {source} ({recorded!r})")
    for evidence_id in sorted(set(listed) - seen):
        problems.append(f"{item}: no row for evidence {evidence_id} — a row was removed")
    if problems:
        for p in problems:
            v.fail(item, p)
    else:
        v.ok(item, f"{item}: {len(v.data_list)} row(s), each as its INTAKE entry records it")


def check_reports(v: VerifyContext) -> None:
    items = v.case_items()
    rows = {r.evidence_id: r for r in v.data_list or []}
    for evidence_id in v.evidence_ids():
        item = f"report.json of {evidence_id}"
        with v.guard(item):
            if not SAFE_ID.fullmatch(evidence_id):
                v.fail(item, f"{item}: {evidence_id!r} is not a valid evidence id")
                continue
            _check_report(v, evidence_id, items.get(evidence_id), rows.get(evidence_id))


def _check_report(
    v: VerifyContext,
    evidence_id: str,
    listed: Mapping[str, Any] | None,
    row: DataListRow | None,
) -> None:
    item = f"report.json of {evidence_id}"
    base = f"data/evidence/{evidence_id}"
    if listed is None:
        v.fail(item, f"{item}: {base}/ is not listed in data/case.json — it was added")
    raw = v.read(f"{base}/report.json")
    if raw is None:
        v.fail(item, f"file deleted from the bag: {base}/report.json")
        return
    problems: list[str] = []
    signature = v.read(f"{base}/report.json.sig")
    if signature is None:
        problems.append(f"{item}: unsigned — file deleted from the bag: {base}/report.json.sig")
    else:
        try:
            verify_report_signature(raw, signature.decode("utf-8"), v.keys)
        except CustodyError as e:
            problems.append(
                f"{item}: signature does not verify with the trusted key {v.trusted_text} "
                f"({e.message})"
            )
    report = parse_report(raw)
    v.reports[evidence_id] = report
    if canonical_json(report.to_json()) != raw:
        problems.append(f"{item}: not in RFC 8785 canonical form — it was edited")
    if listed is not None and listed.get("report_hash") != hashlib.sha256(raw).hexdigest():
        problems.append(f"{item}: its hash differs from the report_hash in data/case.json")
    if report.evidence_id != evidence_id:
        problems.append(f"{item}: is about evidence {report.evidence_id}, not {evidence_id}")
    recorded = report.recorded_digests()
    if listed is not None:
        problems.extend(_differences(item, recorded, listed.get("digests"), "data/case.json"))
        if listed.get("size") != report.size_recorded:
            problems.append(
                f"{item}: size {report.size_recorded} differs from data/case.json "
                f"({listed.get('size')})"
            )
    if row is None:
        problems.append(f"{item}: no row for it in data/data-list.csv")
    else:
        problems.extend(_differences(item, recorded, row.digests, "data/data-list.csv"))
    problems.extend(_intake_problems(v, item, evidence_id, report))
    problems.extend(_custody_problems(v, item, report))
    problems.extend(_report_ledger_problems(v, item, report))
    if not report.passed:
        findings = "; ".join(report.findings) or "no findings given"
        problems.append(f"{item}: the report itself records a FAILED verification: {findings}")
    own_hash = hashlib.sha256(raw).hexdigest()
    html = v.read(f"{base}/report.html")
    if html is None:
        problems.append(f"file deleted from the bag: {base}/report.html")
    elif own_hash not in html.decode("utf-8", errors="replace"):
        problems.append(
            f"{base}/report.html does not show the hash {own_hash} of report.json — it was "
            "rendered from another report or edited"
        )
    pdf = v.read(f"{base}/report.pdf")
    if pdf is None:
        problems.append(f"file deleted from the bag: {base}/report.pdf")
    elif not pdf.startswith(b"%PDF-"):
        problems.append(f"{base}/report.pdf is not a PDF file")
    if problems:
        for p in problems:
            v.fail(item, p)
    else:
        v.ok(
            item,
            f"{item}: signed by the trusted key; hash {own_hash}; its digests agree with "
            "case.json, data-list.csv and the INTAKE ledger entry",
        )


def _intake_problems(
    v: VerifyContext, item: str, evidence_id: str, report: VerificationReport
) -> list[str]:
    intake = v.intake_entries().get(evidence_id)
    if intake is None:
        return [f"{item}: the bundle holds no INTAKE ledger entry for {evidence_id}"]
    seq, value = intake
    details = value.get("details")
    if not isinstance(details, dict):
        return [f"{item}: INTAKE entry {seq} has no details"]
    where = f"INTAKE ledger entry {seq}"
    problems = _differences(item, report.recorded_digests(), details.get("digests"), where)
    if details.get("size") != report.size_recorded:
        problems.append(
            f"{item}: size {report.size_recorded} differs from {where} ({details.get('size')})"
        )
    if details.get("seal_no") != report.seal_no:
        problems.append(
            f"{item}: seal number {report.seal_no!r} differs from {where} "
            f"({details.get('seal_no')!r})"
        )
    return problems


def _custody_problems(v: VerifyContext, item: str, report: VerificationReport) -> list[str]:
    problems: list[str] = []
    for event in report.custody:
        bundled = v.entries.get(event.seq)
        if bundled is None:
            problems.append(
                f"{item}: lists custody entry {event.seq} ({event.action}), which is not in the "
                f"bundle — file deleted from the bag: data/ledger/entries/{event.seq:06d}.json"
            )
        elif leaf_hash(bundled[0]).hex() != event.entry_hash:
            problems.append(
                f"{item}: lists custody entry {event.seq} with hash {event.entry_hash}, but the "
                f"bundled entry hashes to {leaf_hash(bundled[0]).hex()}"
            )
    return problems


def _report_ledger_problems(v: VerifyContext, item: str, report: VerificationReport) -> list[str]:
    """The report's own checkpoint must be trusted and prove the bundled entries it lists."""
    try:
        cp = open_checkpoint(report.ledger.checkpoint_note, v.keys)
    except CustodyError as e:
        return [f"{item}: its checkpoint is not accepted ({e.message})"]
    problems = []
    for number, raw in enumerate(report.ledger.proofs):
        try:
            proof = parse_inclusion_proof(raw)
        except CustodyError as e:
            problems.append(f"{item}: its proof #{number} is malformed ({e.message})")
            continue
        bundled = v.entries.get(proof.leaf_index)
        if bundled is None:
            continue  # a listed entry missing from the bundle is reported with the custody
        if proof.tree_size != cp.size:
            problems.append(
                f"{item}: its proof of entry {proof.leaf_index} is for tree size "
                f"{proof.tree_size}, not its checkpoint's {cp.size}"
            )
            continue
        try:
            proof.verify(leaf_hash=leaf_hash(bundled[0]), root=cp.root)
        except CustodyError:
            problems.append(
                f"{item}: the bundled entry {proof.leaf_index} is not the one its signed "
                f"checkpoint proves — data/ledger/entries/{proof.leaf_index:06d}.json was edited"
            )
    return problems


# content


def check_content(v: VerifyContext) -> None:
    items = v.case_items()
    index: dict[int, list[Path]] | None = None
    for evidence_id in v.evidence_ids():
        item = f"content of {evidence_id}"
        if not SAFE_ID.fullmatch(evidence_id):
            continue
        with v.guard(item):
            intake = v.intake_entries().get(evidence_id)
            if intake is not None and verify_parts.is_image_entry(intake[1]):
                if index is None and v.content_dir is not None:
                    index = _index_by_size(v.content_dir)
                verify_parts.check_image_content(v, item, evidence_id, intake, index)
                continue
            expected = _expected(v, evidence_id, items.get(evidence_id))
            if expected is None:
                v.fail(item, f"{item}: no recorded digests to check it against")
                continue
            size, digests, name = expected
            folder = f"data/evidence/{evidence_id}/content"
            files = sorted(p for p in v.payload if p.startswith(folder + "/"))
            if len(files) > 1:
                v.fail(item, f"{item}: {folder}/ holds {len(files)} files, expected one")
                continue
            if files:
                h = v.hashed(files[0])
                assert h is not None
                _compare_content(v, item, files[0], h, size, digests)
                continue
            if v.content_dir is None:
                v.skip(
                    item,
                    f"{item}: not checked — content not included in the bundle; pass "
                    "--content-dir DIR to check a copy",
                )
                continue
            if index is None:
                index = _index_by_size(v.content_dir)
            found = v.find_copy(index.get(size, []), digests["sha256"])
            if found is None:
                v.fail(
                    item,
                    f"{item}: {name} ({size} bytes, sha256 {digests['sha256']}) not found in "
                    f"{v.content_dir}: no file there has its size and SHA-256",
                )
                continue
            path, h = found
            _compare_content(v, item, str(path), h, size, digests)


def _expected(
    v: VerifyContext, evidence_id: str, listed: Mapping[str, Any] | None
) -> tuple[int, dict[str, str], str] | None:
    """What the content must hash to: its INTAKE entry, else its report, else case.json."""
    intake = v.intake_entries().get(evidence_id)
    details = (intake[1].get("details") if intake else None) or {}
    report = v.reports.get(evidence_id)
    if isinstance(details.get("digests"), dict) and isinstance(details.get("size"), int):
        digests = {str(k): str(x) for k, x in details["digests"].items()}
        size, name = details["size"], str(details.get("filename", ""))
    elif report is not None:
        digests = report.recorded_digests()
        size, name = report.size_recorded, report.original_filename
    elif listed is not None and isinstance(listed.get("digests"), dict):
        digests = {str(k): str(x) for k, x in listed["digests"].items()}
        size, name = int(listed.get("size", -1)), str(listed.get("file_name", ""))
    else:
        return None
    if "sha256" not in digests:
        return None
    return size, digests, name


def _compare_content(
    v: VerifyContext, item: str, where: str, h: Hashed, size: int, digests: Mapping[str, str]
) -> None:
    problems = []
    if h.size != size:
        problems.append(f"size recorded {size}, found {h.size}")
    if h.sha256 != digests.get("sha256"):
        problems.append(f"sha256 recorded {digests.get('sha256')}, computed {h.sha256}")
    if "blake3" in digests and h.blake3 != digests["blake3"]:
        problems.append(f"blake3 recorded {digests['blake3']}, computed {h.blake3}")
    if problems:
        v.fail(
            item,
            f"{where}: content does not match the recorded digests ({'; '.join(problems)}) "
            "— the content was changed",
        )
    else:
        v.ok(item, f"{where}: size, SHA-256 and BLAKE3 match the values recorded at intake")


def _index_by_size(folder: Path) -> dict[int, list[Path]]:
    index: dict[int, list[Path]] = {}
    for directory, _, files in os.walk(folder):
        for name in sorted(files):
            path = Path(directory) / name
            try:
                info = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                index.setdefault(info.st_size, []).append(path)
    return index
