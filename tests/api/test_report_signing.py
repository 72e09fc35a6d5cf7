"""The service's PDF reports: the report certificate, its endpoint, signed PDFs, case reports.

Real app, real database, real pyhanko signatures, checked with the offline verifier and the
bundle verifier; huge item descriptions and file names export without error.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.context import AppContext, build_context
from api.schemas import IntakeMetadata
from api.services import intake as intake_service
from custody import ledger_store
from custody.bundle import verify_bundle, write_bundle
from custody.bundle.package import bundle_input
from custody.case_report import parse_case_report
from custody.errors import StorageMisconfigured
from custody.report_pdf import check_report_pdf
from tests.api.test_access import intake
from tests.conftest import Actor, make_settings
from tests.poppler import run


def ledger_size(ctx: AppContext) -> int:
    with ctx.session() as session:
        return ledger_store.size(session)


def test_report_certificate_is_made_once_with_a_0600_key(ctx: AppContext) -> None:
    key_path = ctx.settings.report_key_path
    assert key_path.exists() and ctx.settings.report_cert_path.exists()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert ctx.report_signer.self_signed
    again = build_context(ctx.settings)
    try:
        assert again.report_signer.sha256 == ctx.report_signer.sha256  # loaded, not remade
    finally:
        again.engine.dispose()


def test_certificate_endpoint_publishes_the_fingerprint(
    client: TestClient, ctx: AppContext, technician: Actor
) -> None:
    assert client.get("/api/v1/reports/certificate").status_code == 401
    r = client.get("/api/v1/reports/certificate", headers=technician.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sha256"] == ctx.report_signer.sha256
    cert = x509.load_pem_x509_certificate(body["pem"].encode())
    assert cert.fingerprint(hashes.SHA256()).hex() == body["sha256"]
    assert body["self_signed"] is True
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/reports/certificate" in paths


def test_verification_pdf_is_signed_self_contained_and_verifies_offline(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    ev = intake(client, technician, case, os.urandom(5000))
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/verifications",
        params={"format": "pdf"},
        headers=technician.headers,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    checked = check_report_pdf(r.content, ctx.signing_key.verifier())
    assert checked.passed, [c.message for c in checked.checks]
    assert checked.signer is not None and checked.signer.sha256 == ctx.report_signer.sha256
    assert checked.report_hash == r.headers["x-report-sha256"]
    path = tmp_path / "report.pdf"
    path.write_bytes(r.content)
    assert "Signature is Valid." in run("pdfsig", path).stdout
    assert "report.json.sig" in run("pdfdetach", "-list", path).stdout


def test_intake_file_name_over_1024_bytes_is_a_clear_422(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    before = ledger_size(ctx)
    name = "名" * 342  # 1,026 bytes of UTF-8
    r = client.post(
        "/api/v1/evidence",
        files=[
            ("metadata", (None, json.dumps({"case": case, "filename": name}))),
            ("file", ("x.bin", b"content")),
        ],
        headers=technician.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("file-name-too-long")
    assert "1026 bytes" in r.json()["detail"] and "1024" in r.json()["detail"]
    assert ledger_size(ctx) == before  # nothing recorded, nothing stored
    ok = client.post(
        "/api/v1/evidence",
        files=[
            ("metadata", (None, json.dumps({"case": case, "filename": "n" * 1024}))),
            ("file", ("x.bin", b"content")),
        ],
        headers=technician.headers,
    )
    assert ok.status_code == 201, ok.text


def _intake_directly(ctx: AppContext, technician: Actor, case: str, **meta: object) -> str:
    """Below the API's validation (as an older version or a migration could have stored it)."""
    with ctx.session() as session:
        from custody.models import Account

        account = session.get(Account, technician.name)
        assert account is not None
    prepared = intake_service.prepare(
        ctx,
        account,
        IntakeMetadata.model_construct(
            case=case,
            **{
                "filename": None,
                "content_type": None,
                "description": "",
                "seal_no": None,
                "media": {},
                "declared_digests": {},
                "algorithms": [],
                **meta,
            },
        ),
    )
    stored = intake_service.store_content(ctx, prepared, io.BytesIO(os.urandom(2048)))
    committed = intake_service.commit_intake(
        ctx, prepared, stored, filename=None, content_type=None
    )
    return committed.evidence_id


def test_case_with_huge_descriptions_and_names_exports_with_a_signed_case_report(
    client: TestClient, ctx: AppContext, technician: Actor, case: str, tmp_path: Path
) -> None:
    ids = [
        intake(client, technician, case, os.urandom(3000))["id"],
        _intake_directly(ctx, technician, case, description="d" * 9000, filename="n" * 5000),
        _intake_directly(ctx, technician, case, description="长" * 9000, filename="名" * 5000),
    ]
    before = ledger_size(ctx)
    r = client.post(
        f"/api/v1/cases/{case}/exports", json={"purpose": "court"}, headers=technician.headers
    )
    assert r.status_code == 200, r.text
    package = r.json()
    assert ledger_size(ctx) == before + len(ids) + 1  # three verifications and the export
    verifier = ctx.signing_key.verifier()
    for item in package["items"]:
        pdf = base64.b64decode(item["report_pdf"])
        checked = check_report_pdf(pdf, verifier)
        assert checked.passed, [c.message for c in checked.checks]
    case_report = package["case_report"]
    parsed = parse_case_report(base64.b64decode(case_report["json"]))
    assert [i.evidence_id for i in parsed.items] == ids
    assert parsed.items[1].description == "d" * 9000  # whole in the signed JSON
    checked = check_report_pdf(base64.b64decode(case_report["pdf"]), verifier)
    assert checked.passed, [c.message for c in checked.checks]
    export = json.loads(base64.b64decode(package["entries"][-1]["canonical"]))
    assert export["details"]["case_report"] == case_report["hash"]
    assert package["report_certificate"]["sha256"] == ctx.report_signer.sha256

    # the bundle carries the certificate and the case report, and checks every PDF
    data = bundle_input(package, content={}, exported_at=export["time"])
    bundle = write_bundle(data, tmp_path / "bundle", with_content=False)
    assert (bundle / "data" / "case-report.pdf").is_file()
    case_json = json.loads((bundle / "data" / "case.json").read_text())
    assert case_json["report_certificate"]["sha256"] == ctx.report_signer.sha256
    report = verify_bundle(bundle, trusted_key=verifier)
    assert report.ok, [c.message for c in report.failures]
    checked_items = {c.item for c in report.checks if not c.skipped}
    assert "case-report.pdf" in checked_items and "case-report.json" in checked_items
    assert f"evidence/{ids[1]}/report.pdf" in checked_items
    assert "ledger/report-certificate.pem" in {c.item.removeprefix("data/") for c in report.checks}


def test_export_rendering_failure_of_the_case_report_records_nothing(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.services import case_report

    intake(client, technician, case, os.urandom(1000))
    before = ledger_size(ctx)

    def failing(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("the case report renderer gave up")

    monkeypatch.setattr(case_report, "case_pdf", failing)
    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.post(
            f"/api/v1/cases/{case}/exports", json={"purpose": "court"}, headers=technician.headers
        )
    assert r.status_code == 500
    assert ledger_size(ctx) == before


# --- an agency certificate instead of the service's own -----------------------------------


def _agency(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """A CA, a report certificate it issued, as PEM files and as a PKCS#12 file."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Agency CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "某市检察院 报告签章")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path, p12_path = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "r.p12"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pem-secret"),
        )
    )
    pem = serialization.Encoding.PEM
    cert_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    p12_path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"report", key, leaf, [ca], serialization.BestAvailableEncryption(b"p12-secret")
        )
    )
    return key_path, cert_path, p12_path, leaf.fingerprint(hashes.SHA256()).hex()


def test_agency_certificate_as_pem_or_pkcs12(tmp_path: Path) -> None:
    key, cert, p12, fingerprint = _agency(tmp_path)
    for n, overrides in enumerate(
        (
            {"report_key": key, "report_cert": cert, "report_key_passphrase": "pem-secret"},
            {"report_pkcs12": p12, "report_pkcs12_passphrase": "p12-secret"},
        )
    ):
        settings = make_settings(tmp_path / f"s{n}", **overrides)
        ctx = build_context(settings)
        try:
            assert ctx.report_signer.sha256 == fingerprint
            assert not ctx.report_signer.self_signed and len(ctx.report_signer.chain) == 1
            assert not settings.report_key_path.exists() or n == 0  # nothing made
            assert not (settings.data_dir / "report-signing.crt").exists()
        finally:
            ctx.engine.dispose()
    with pytest.raises(StorageMisconfigured, match=r"cannot read"):
        build_context(make_settings(tmp_path / "bad", report_pkcs12=p12))
    with pytest.raises(StorageMisconfigured, match="go together"):
        build_context(make_settings(tmp_path / "half", report_cert=cert))


def test_an_agency_signed_pdf_verifies(tmp_path: Path) -> None:
    from api.keys import load_report_certificate
    from api.reports import signed_report_pdf
    from custody.checkpoint import SigningKey
    from custody.report import report_bytes, report_hash, sign_report
    from tests.test_render import realistic_report

    key, cert, _, fingerprint = _agency(tmp_path)
    signer = load_report_certificate(
        make_settings(
            tmp_path, report_key=key, report_cert=cert, report_key_passphrase="pem-secret"
        )
    )
    ledger = SigningKey.generate("custody.example/ledger")
    report = replace(realistic_report(), pdf_certificate_sha256=fingerprint)
    raw = report_bytes(report)
    pdf = signed_report_pdf(
        report,
        canonical=raw,
        report_hash=report_hash(report),
        signature=sign_report(raw, ledger),
        signer=signer,
    )
    checked = check_report_pdf(pdf, ledger.verifier())
    assert checked.passed, [c.message for c in checked.checks]
    assert len(PdfReader(io.BytesIO(pdf)).attachments) == 2
