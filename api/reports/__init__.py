"""Reports for people: an item's verification report and a case report, as HTML and PDF.

One document model (:mod:`.document`, built by :mod:`.item` and :mod:`.case`) is laid out
by :mod:`.html` and :mod:`.pdf` (fonts from :mod:`.fonts`); every PDF embeds the signed
report JSON and its signature and carries a PAdES signature (:mod:`.signing`).
"""

from __future__ import annotations

from api.reports.case import case_document
from api.reports.html import render_document_html
from api.reports.item import Signing, item_attachments, item_document
from api.reports.pdf import render_document_pdf
from api.reports.signing import ReportCertificate, sign_pdf
from custody.case_report import CaseReport
from custody.report import VerificationReport

__all__ = [
    "ReportCertificate",
    "case_html",
    "case_pdf",
    "render_html",
    "render_pdf",
    "signed_report_pdf",
]


def _signing(report_hash: str, signature: str, signer: ReportCertificate | None) -> Signing:
    return Signing(
        report_hash=report_hash,
        signature=signature,
        certificate_subject=signer.subject if signer is not None else None,
    )


def render_html(
    report: VerificationReport,
    *,
    report_hash: str,
    signature: str = "",
    signer: ReportCertificate | None = None,
) -> str:
    """The item's report as a self-contained page."""
    return render_document_html(item_document(report, _signing(report_hash, signature, signer)))


def render_pdf(
    report: VerificationReport,
    *,
    report_hash: str,
    signature: str = "",
    canonical: bytes | None = None,
    signer: ReportCertificate | None = None,
) -> bytes:
    """The item's report as a PDF; with ``canonical`` it embeds report.json and its signature.

    Unsigned: :func:`signed_report_pdf` is what the service hands out.
    """
    doc = item_document(report, _signing(report_hash, signature, signer))
    if canonical is not None:
        from dataclasses import replace

        doc = replace(doc, attachments=item_attachments(canonical, signature))
    return render_document_pdf(doc)


def signed_report_pdf(
    report: VerificationReport,
    *,
    canonical: bytes,
    report_hash: str,
    signature: str,
    signer: ReportCertificate,
) -> bytes:
    """The self-contained PDF: embedded JSON and signature, PAdES-signed by ``signer``."""
    data = render_pdf(
        report, report_hash=report_hash, signature=signature, canonical=canonical, signer=signer
    )
    return sign_pdf(data, signer, reason=f"verification report {report_hash}")


def case_html(
    report: CaseReport, *, report_hash: str, signature: str, signer: ReportCertificate | None
) -> str:
    return render_document_html(case_document(report, _signing(report_hash, signature, signer)))


def case_pdf(
    report: CaseReport,
    *,
    canonical: bytes,
    report_hash: str,
    signature: str,
    signer: ReportCertificate | None,
) -> bytes:
    """The case report PDF, embedded JSON and signature; PAdES-signed when ``signer`` is set."""
    from dataclasses import replace

    doc = case_document(report, _signing(report_hash, signature, signer))
    data = render_document_pdf(replace(doc, attachments=item_attachments(canonical, signature)))
    if signer is None:
        return data
    return sign_pdf(data, signer, reason=f"case report {report_hash}")
