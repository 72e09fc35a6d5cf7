"""The report-signing certificate, published so that anyone can pin a PDF report's signer."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ContextDep, guard
from custody import policy

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


class ReportCertificatePublic(BaseModel):
    sha256: str = Field(description="SHA-256 fingerprint of the DER certificate, lowercase hex")
    subject: str = Field(description="The certificate's subject (RFC 4514)")
    issuer: str
    self_signed: bool = Field(
        description="True for the certificate the service made itself; an agency certificate "
        "is issued by a CA"
    )
    not_valid_before: str
    not_valid_after: str
    pem: str = Field(description="The certificate, then its chain, PEM")


@router.get(
    "/certificate",
    response_model=ReportCertificatePublic,
    dependencies=[guard(policy.Permission.LEDGER_CHECKPOINT)],
    responses={
        200: {"description": "The certificate that PAdES-signs every PDF report"},
        401: {"description": "No or an invalid bearer token"},
        403: {"description": "The account may not read the ledger's keys"},
    },
)
def certificate(ctx: ContextDep) -> ReportCertificatePublic:
    """The PDF signer's certificate and SHA-256 fingerprint (also in every signed report)."""
    signer = ctx.report_signer
    cert = signer.certificate
    return ReportCertificatePublic(
        sha256=signer.sha256,
        subject=signer.subject,
        issuer=cert.issuer.rfc4514_string(),
        self_signed=signer.self_signed,
        not_valid_before=cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        not_valid_after=cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pem=signer.pem(),
    )
