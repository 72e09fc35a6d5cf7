"""Checking a lone PDF report offline: its PAdES signature, its embedded JSON, its text.

A PDF that is e-mailed or printed on its own must prove itself. It carries the report's
canonical JSON (``report.json``) and the ledger key's detached signature over it
(``report.json.sig``) as attachments, and a PAdES signature by the report certificate. The
signed JSON names that certificate's SHA-256 fingerprint, so the one key a court trusts (the
ledger's) also pins who may sign the PDF: a PDF re-signed with any other certificate fails.
Then every digest the JSON records must appear in the PDF's text as one whole token, so
what a clerk reads and copies is what was signed.

PDF libraries are not part of the base install: pyhanko and pypdf come with the ``pdf``
extra and are imported only when a PDF is checked.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.case_report import CaseReport, is_case_report, parse_case_report
from custody.checkpoint import VerifierKey
from custody.errors import CustodyError, InputError
from custody.report import VerificationReport, parse_report, verify_report_signature

PDF_EXTRA = "pip install 'evidence-custody[pdf]'"
REPORT_ATTACHMENT = "report.json"
SIGNATURE_ATTACHMENT = "report.json.sig"
_HEX_TOKEN = re.compile(r"[0-9a-f]{32,128}")
_TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]（）：，；]+")


def pdf_support_missing() -> str | None:
    """None when pyhanko and pypdf import; else what to install (the ``pdf`` extra)."""
    try:
        import pyhanko.sign.validation  # noqa: F401
        import pypdf  # noqa: F401
    except ImportError as e:
        return f"checking a PDF report needs the PDF extra ({e.name} is missing): {PDF_EXTRA}"
    return None


def require_pdf_support() -> None:
    missing = pdf_support_missing()
    if missing is not None:
        raise InputError(missing)


@dataclass(frozen=True, kw_only=True)
class PdfCheck:
    """One named check of a PDF report and what it found."""

    name: str
    ok: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class PdfSigner:
    """The PAdES signature's certificate and whether the signature holds over the file."""

    sha256: str
    subject: str
    intact: bool
    whole_file: bool
    problem: str | None


@dataclass(kw_only=True)
class CheckedPdf:
    """Every check made of one PDF report; ``report`` is set once its JSON verified."""

    checks: list[PdfCheck] = field(default_factory=list)
    report: VerificationReport | CaseReport | None = None
    report_hash: str | None = None
    signer: PdfSigner | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def passed(self) -> bool:
        """The PDF is genuine and the verification it records passed."""
        return self.ok and self.report is not None and self.report.passed

    def add(self, name: str, ok: bool, message: str) -> None:
        self.checks.append(PdfCheck(name=name, ok=ok, message=message))


# --- reading the PDF (pyhanko, pypdf) ------------------------------------------------------


def pdf_signer(data: bytes) -> list[PdfSigner]:
    """Each PAdES signature's certificate, validated against itself (identity is pinned later).

    pyhanko's validator decides whether the signed bytes are unchanged (``intact``) and
    whether the signature covers the whole file (nothing appended after signing).
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signers = []
    for embedded in reader.embedded_signatures:
        cert = embedded.signer_cert
        problem: str | None = None
        intact = whole = False
        try:
            context = ValidationContext(trust_roots=[cert], allow_fetching=False)
            status = validate_pdf_signature(embedded, context)
            intact = bool(status.intact and status.valid)
            whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        except Exception as e:  # a foreign library on hostile input: any failure is a FAIL
            problem = f"{type(e).__name__}: {e}"
        signers.append(
            PdfSigner(
                sha256=cert.sha256.hex(),
                subject=cert.subject.human_friendly,
                intact=intact,
                whole_file=whole,
                problem=problem,
            )
        )
    return signers


def pdf_attachments(data: bytes) -> dict[str, list[bytes]]:
    """The embedded files by name (a name may occur more than once in a hostile PDF)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return {str(name): list(contents) for name, contents in reader.attachments.items()}


def pdf_text(data: bytes) -> str:
    """The PDF's text, page by page, as a text extractor (and a clerk's copy) sees it."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


# --- what the JSON says must be printed ----------------------------------------------------


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def printed_digests(report: VerificationReport | CaseReport, own_hash: str) -> dict[str, str]:
    """Every check value a reader compares, with what it is: each must be printed whole."""
    wanted: dict[str, str] = {own_hash: "the report's own hash (SHA-256 of report.json)"}
    if report.pdf_certificate_sha256:
        wanted[report.pdf_certificate_sha256] = "the PDF certificate's SHA-256 fingerprint"
    if isinstance(report, CaseReport):
        for item in report.items:
            for algorithm, digest in item.digests.items():
                wanted[digest] = f"{algorithm} of item {item.item} ({item.evidence_id})"
            if item.verification is not None and item.verification.report_sha256:
                wanted[item.verification.report_sha256] = f"report hash of item {item.item}"
    else:
        for d in report.digests:
            wanted[d.recorded] = f"{d.algorithm} recorded at intake"
            if d.recomputed:
                wanted.setdefault(d.recomputed, f"{d.algorithm} recomputed")
        for event in report.custody:
            wanted.setdefault(event.entry_hash, f"hash of ledger entry {event.seq}")
    return wanted


def _tokens(text: str) -> set[str]:
    return {t for t in _TOKEN_SPLIT.split(text) if t}


# --- the check -----------------------------------------------------------------------------


def _one(attachments: dict[str, list[bytes]], name: str) -> bytes | None:
    found = attachments.get(name) or []
    return found[0] if len(found) == 1 else None


def _check_signature(checked: CheckedPdf, data: bytes) -> None:
    try:
        signers = pdf_signer(data)
    except Exception as e:  # unreadable structure: the bytes were damaged or edited
        checked.add("pades", False, f"the PDF's signature cannot be read ({type(e).__name__}: {e})")
        return
    if len(signers) != 1:
        what = "no PAdES signature" if not signers else f"{len(signers)} signatures"
        checked.add("pades", False, f"the PDF carries {what}; a report carries exactly one")
        if not signers:
            return
    signer = signers[-1]
    checked.signer = signer
    if signer.problem is not None:
        checked.add("pades", False, f"the PDF signature cannot be validated ({signer.problem})")
    elif not signer.intact:
        checked.add(
            "pades",
            False,
            "the PDF signature does not match the signed bytes: the PDF was edited after "
            "it was signed",
        )
    elif not signer.whole_file:
        checked.add(
            "pades",
            False,
            "the PDF signature does not cover the whole file: bytes were added after it was "
            "signed (an incremental update)",
        )
    else:
        checked.add(
            "pades",
            True,
            f"PAdES signature valid over the whole file, by certificate {signer.sha256} "
            f"({signer.subject})",
        )


def _check_json(
    checked: CheckedPdf, attachments: dict[str, list[bytes]], keys: Sequence[VerifierKey]
) -> bytes | None:
    raw = _one(attachments, REPORT_ATTACHMENT)
    signature = _one(attachments, SIGNATURE_ATTACHMENT)
    names = ", ".join(sorted(attachments)) or "none"
    if raw is None or signature is None:
        checked.add(
            "embedded-json",
            False,
            f"the PDF does not embed exactly one {REPORT_ATTACHMENT} and one "
            f"{SIGNATURE_ATTACHMENT} (embedded files: {names})",
        )
        return None
    try:
        signer = verify_report_signature(raw, signature.decode("utf-8"), keys)
        report: VerificationReport | CaseReport = (
            parse_case_report(raw) if is_case_report(raw) else parse_report(raw)
        )
    except (CustodyError, UnicodeDecodeError) as e:
        message = e.message if isinstance(e, CustodyError) else str(e)
        checked.add(
            "embedded-json",
            False,
            f"the embedded {REPORT_ATTACHMENT} does not verify with the trusted key "
            f"{keys[0].name}+{keys[0].key_id.hex()}: {message}",
        )
        return None
    checked.report = report
    checked.report_hash = hashlib.sha256(raw).hexdigest()
    checked.add(
        "embedded-json",
        True,
        f"embedded {REPORT_ATTACHMENT} signed by the trusted key "
        f"{signer.name}+{signer.key_id.hex()}",
    )
    return raw


def _check_certificate(checked: CheckedPdf) -> None:
    report, signer = checked.report, checked.signer
    if report is None or signer is None:
        return
    pinned = report.pdf_certificate_sha256
    if pinned is None:
        checked.add(
            "certificate",
            False,
            "the signed report names no PDF certificate, so the PDF signer cannot be checked",
        )
    elif pinned != signer.sha256:
        checked.add(
            "certificate",
            False,
            f"the PDF was re-signed with another certificate: signed by {signer.sha256} "
            f"({signer.subject}), but the signed report names the certificate {pinned}",
        )
    else:
        checked.add("certificate", True, f"the PDF signer is the certificate {pinned}")


def _check_text(checked: CheckedPdf, data: bytes, raw: bytes) -> None:
    report, own_hash = checked.report, checked.report_hash
    if report is None or own_hash is None:
        return
    try:
        tokens = _tokens(pdf_text(data))
    except Exception as e:  # unreadable text is a failed check, not a crash
        checked.add("digests", False, f"the PDF's text cannot be extracted ({e})")
        return
    wanted = printed_digests(report, own_hash)
    # what the signed JSON says anywhere (a long free text may wrap into hex-like pieces)
    signed_text = "\n".join([*_strings(json.loads(raw)), *wanted])
    missing = [f"{what} {digest}" for digest, what in wanted.items() if digest not in tokens]
    foreign = sorted(t for t in tokens if _HEX_TOKEN.fullmatch(t) and t not in signed_text)
    for text in missing:
        checked.add("digests", False, f"the PDF text does not show {text} whole")
    for token in foreign:
        checked.add(
            "digests", False, f"the PDF text shows {token}, a value the signed report lacks"
        )
    if not missing and not foreign:
        checked.add(
            "digests",
            True,
            f"all {len(wanted)} check values of the signed report are printed whole, and no other",
        )


def check_report_pdf(
    data: bytes, key: VerifierKey, *, rotated_to: Sequence[VerifierKey] = ()
) -> CheckedPdf:
    """Check a PDF report against the trusted ledger key; every failure is a named check.

    ``rotated_to`` are keys the trusted key was proven to have rotated to (a bundle's
    rotation entries); a report signed by one of them counts as signed by the trusted key.
    """
    require_pdf_support()
    checked = CheckedPdf()
    if not data.startswith(b"%PDF-"):
        checked.add("pdf", False, "the file is not a PDF")
        return checked
    _check_signature(checked, data)
    try:
        attachments = pdf_attachments(data)
    except Exception as e:  # damaged structure
        checked.add("embedded-json", False, f"the PDF's embedded files cannot be read ({e})")
        return checked
    raw = _check_json(checked, attachments, [key, *rotated_to])
    _check_certificate(checked)
    if raw is not None:
        _check_text(checked, data, raw)
    return checked
