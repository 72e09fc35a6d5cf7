"""Verification step for the PDFs: each report.pdf and case-report.pdf proves itself.

Each PDF must carry a valid PAdES signature by the bundled report certificate (whose
fingerprint case.json names), embed exactly the bundled signed JSON, and print its check
values whole (:func:`custody.report_pdf.check_report_pdf`). PDF checking needs the ``pdf``
extra; without it these checks are SKIPPED, saying what to install.
"""

from __future__ import annotations

from collections.abc import Mapping

from custody.bundle.context import VerifyContext
from custody.bundle.names import SAFE_ID
from custody.case_report import parse_case_report
from custody.certificates import certificate_sha256
from custody.errors import CustodyError
from custody.report import verify_report_signature
from custody.report_pdf import (
    REPORT_ATTACHMENT,
    check_report_pdf,
    pdf_attachments,
    pdf_support_missing,
)


def _pinned_certificate(v: VerifyContext) -> str | None:
    """The bundled certificate's fingerprint, checked against case.json; None if none."""
    listed = (v.case or {}).get("report_certificate")
    if not isinstance(listed, Mapping):
        return None
    item = "data/ledger/report-certificate.pem"
    raw = v.read(f"data/{listed.get('file')}")
    if raw is None:
        v.fail(item, f"file deleted from the bag: {item}")
        return None
    try:
        found = certificate_sha256(raw)
    except ValueError as e:
        v.fail(item, f"{item}: not a PEM certificate ({e})")
        return None
    if found != listed.get("sha256"):
        v.fail(item, f"{item}: its fingerprint {found} differs from data/case.json")
        return None
    v.ok(item, f"{item}: the report certificate, SHA-256 fingerprint {found}")
    return found


def _check_pdf(v: VerifyContext, rel: str, bundled_json: bytes | None, pinned: str | None) -> None:
    item = rel.removeprefix("data/")
    data = v.read(rel)
    if data is None:
        v.fail(item, f"file deleted from the bag: {rel}")
        return
    checked = check_report_pdf(data, v.trusted, rotated_to=v.keys[1:])
    problems = [f"{item}: {c.message}" for c in checked.checks if not c.ok]
    if bundled_json is not None:
        embedded = pdf_attachments(data).get(REPORT_ATTACHMENT) or []
        if embedded[:1] != [bundled_json]:
            problems.append(f"{item}: its embedded report.json is not the bundled one")
    if pinned is not None and checked.signer is not None and checked.signer.sha256 != pinned:
        problems.append(
            f"{item}: signed by the certificate {checked.signer.sha256}, not the bundled report "
            f"certificate {pinned}"
        )
    if problems:
        for p in problems:
            v.fail(item, p)
    else:
        v.ok(
            item,
            f"{item}: PAdES signature by the report certificate; embedded report.json "
            "signed by the trusted key; every check value printed whole",
        )


def check_pdf_reports(v: VerifyContext) -> None:
    missing = pdf_support_missing()
    pdfs = [f"data/evidence/{e}/report.pdf" for e in v.evidence_ids() if SAFE_ID.fullmatch(e)]
    case_report = (v.case or {}).get("case_report")
    if isinstance(case_report, Mapping):
        pdfs.append("data/case-report.pdf")
    if missing is not None:
        for rel in pdfs:
            item = rel.removeprefix("data/")
            v.skip(item, f"{item}: PDF signature not checked — {missing}")
        return
    pinned = _pinned_certificate(v)
    for rel in pdfs:
        with v.guard(rel.removeprefix("data/")):
            bundled = v.read(rel.removesuffix(".pdf") + ".json")
            _check_pdf(v, rel, bundled, pinned)
    if isinstance(case_report, Mapping):
        _check_case_report_json(v)


def _check_case_report_json(v: VerifyContext) -> None:
    item = "case-report.json"
    raw, sig = v.read("data/case-report.json"), v.read("data/case-report.json.sig")
    if raw is None or sig is None:
        v.fail(item, "file deleted from the bag: data/case-report.json or its .sig")
        return
    try:
        verify_report_signature(raw, sig.decode("utf-8"), v.keys)
        report = parse_case_report(raw)
    except CustodyError as e:
        v.fail(item, f"{item}: does not verify with the trusted key ({e.message})")
        return
    listed = {str(e) for e in v.case_items()}
    reported = {i.evidence_id for i in report.items}
    if report.case_number != v.case_number or not listed <= reported:
        v.fail(item, f"{item}: is about another case or leaves out items of data/case.json")
        return
    v.ok(item, f"{item}: signed by the trusted key; {len(report.items)} item(s)")
