"""The case report of an export: every item of the case, its status and last verification.

Built from the same values the export bundles (INTAKE facts, derived state, the reports just
prepared), signed with the ledger key and rendered before anything is recorded, like the
item reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.context import AppContext
from api.reports import case_html, case_pdf
from api.services.verification import SignedReport
from custody.case_report import (
    CaseItem,
    CaseReport,
    ItemVerification,
    case_report_bytes,
    case_report_hash,
)
from custody.intake_record import IntakeRecord
from custody.ledger import rfc3339, utc_now
from custody.models import Account, Case
from custody.report import sign_report
from custody.state import EvidenceState


@dataclass(frozen=True, kw_only=True)
class ItemFacts:
    """One item of the case: its INTAKE facts, its state, and this export's report if any."""

    record: IntakeRecord
    state: EvidenceState
    report: SignedReport | None


@dataclass(frozen=True, kw_only=True)
class RenderedCaseReport:
    report: CaseReport
    canonical: bytes
    hash: str
    signature: str
    pdf: bytes
    html: str


def _verification(facts: ItemFacts) -> ItemVerification | None:
    if facts.report is not None:
        r = facts.report.report
        return ItemVerification(
            time=r.generated_at,
            result=r.result,
            report_sha256=facts.report.hash,
            findings=list(r.findings),
        )
    last = facts.state.last_verification
    if last is None or last.get("result") not in ("pass", "fail"):
        return None
    return ItemVerification(
        time=str(last.get("time")),
        result="pass" if last.get("result") == "pass" else "fail",
        report_sha256=None,
        findings=[],
    )


def build_case_report(
    ctx: AppContext,
    account: Account,
    case: Case,
    purpose: str | None,
    items: Sequence[ItemFacts],
    *,
    secrecy_mark: str | None = None,
    copy_no: int | None = None,
) -> RenderedCaseReport:
    """Sign and render the case report (nothing is recorded here)."""
    report = CaseReport(
        generated_at=rfc3339(utc_now()),
        generated_by=account.name,
        generated_by_department=account.department,
        generated_by_role=account.role,
        case_number=case.number,
        case_title=case.title,
        case_classification=case.classification,
        case_department=case.department,
        purpose=purpose,
        items=[
            CaseItem(
                item=number,
                evidence_id=f.record.evidence_id,
                file_name=f.record.filename,
                content_type=f.record.content_type,
                seal_no=f.record.seal_no,
                description=f.record.description,
                size=f.record.size,
                digests=dict(f.record.digests),
                intake_time=f.record.time,
                technician=f.record.technician,
                technician_department=f.record.technician_department,
                status=str(f.state.status),
                verification=_verification(f),
                format=str(f.record.format),
                parts=[p.name for p in f.record.parts],
                media_digests=dict(f.record.image.digests) if f.record.image else {},
                stored_digests=dict(f.record.image.stored_digests) if f.record.image else {},
                derived_from=dict(f.record.derived_from) if f.record.derived_from else None,
            )
            for number, f in enumerate(items, start=1)
        ],
        pdf_certificate_sha256=ctx.report_signer.sha256,
        secrecy_mark=secrecy_mark,
        copy_no=copy_no,
    )
    canonical = case_report_bytes(report)
    digest = case_report_hash(report)
    signature = sign_report(canonical, ctx.signing_key)
    return RenderedCaseReport(
        report=report,
        canonical=canonical,
        hash=digest,
        signature=signature,
        pdf=case_pdf(
            report,
            canonical=canonical,
            report_hash=digest,
            signature=signature,
            signer=ctx.report_signer,
        ),
        html=case_html(report, report_hash=digest, signature=signature, signer=ctx.report_signer),
    )
