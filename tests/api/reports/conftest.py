"""A signed report, its self-contained PDF and its case report, as the service makes them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from api.reports import case_pdf, signed_report_pdf
from api.reports.signing import ReportCertificate, generate_certificate
from custody.case_report import (
    CaseItem,
    CaseReport,
    ItemVerification,
    case_report_bytes,
    case_report_hash,
)
from custody.checkpoint import SigningKey
from custody.report import VerificationReport, report_bytes, report_hash, sign_report
from tests.test_render import realistic_report

ORIGIN = "custody.example/ledger"


@dataclass(frozen=True)
class Signed:
    key: SigningKey
    cert: ReportCertificate
    report: VerificationReport
    canonical: bytes
    hash: str
    signature: str
    pdf: bytes
    path: Path
    key_file: Path


def sign_and_render(
    report: VerificationReport, key: SigningKey, cert: ReportCertificate, out: Path
) -> Signed:
    report = replace(report, pdf_certificate_sha256=cert.sha256)
    raw = report_bytes(report)
    signature = sign_report(raw, key)
    pdf = signed_report_pdf(
        report, canonical=raw, report_hash=report_hash(report), signature=signature, signer=cert
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.pdf"
    path.write_bytes(pdf)
    key_file = out / "lab.pub"
    key_file.write_text(key.verifier().to_text() + "\n")
    return Signed(key, cert, report, raw, report_hash(report), signature, pdf, path, key_file)


@pytest.fixture(scope="session")
def ledger_key() -> SigningKey:
    return SigningKey.generate(ORIGIN)


@pytest.fixture(scope="session")
def report_cert() -> ReportCertificate:
    return generate_certificate(f"{ORIGIN} report signer")


@pytest.fixture(scope="session")
def signed(
    ledger_key: SigningKey, report_cert: ReportCertificate, tmp_path_factory: pytest.TempPathFactory
) -> Signed:
    return sign_and_render(
        realistic_report(), ledger_key, report_cert, tmp_path_factory.mktemp("signed")
    )


def case_of(signed: Signed) -> CaseReport:
    r = signed.report
    item = CaseItem(
        item=1,
        evidence_id=r.evidence_id,
        file_name=r.original_filename,
        content_type=r.content_type,
        seal_no=r.seal_no,
        description=r.description,
        size=r.size_recorded,
        digests=r.recorded_digests(),
        intake_time=r.intake_time,
        technician=r.intake_technician,
        technician_department="刑事技术科",
        status="in_custody",
        verification=ItemVerification(
            time=r.generated_at, result="pass", report_sha256=signed.hash, findings=[]
        ),
    )
    return CaseReport(
        generated_at=r.generated_at,
        generated_by=r.generated_by,
        generated_by_department=r.generated_by_department,
        generated_by_role="prosecutor",
        case_number=r.case_number,
        case_title=r.case_title,
        case_classification="confidential",
        case_department="刑事技术科",
        purpose="移送法院 / to the court",
        items=[
            item,
            replace(
                item,
                item=2,
                evidence_id="second-item",
                status="disposed",
                verification=None,
                digests={"sha256": "ab" * 32, "blake3": "cd" * 32},
            ),
        ],
        pdf_certificate_sha256=signed.cert.sha256,
    )


@pytest.fixture(scope="session")
def case_signed(
    signed: Signed, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CaseReport, Path]:
    report = case_of(signed)
    raw = case_report_bytes(report)
    pdf = case_pdf(
        report,
        canonical=raw,
        report_hash=case_report_hash(report),
        signature=sign_report(raw, signed.key),
        signer=signed.cert,
    )
    path = tmp_path_factory.mktemp("case") / "case-report.pdf"
    path.write_bytes(pdf)
    return report, path
