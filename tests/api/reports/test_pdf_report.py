"""The PDF report as a court clerk checks it: pdfsig, pdfdetach, pdftotext, and pyhanko."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from api.reports import fonts, render_pdf
from api.reports.signing import ReportCertificate
from custody.case_report import CaseReport
from custody.checkpoint import SigningKey
from custody.report import report_hash
from tests.api.reports.conftest import Signed, sign_and_render
from tests.poppler import pdftotext, run
from tests.test_render import realistic_report

HEX = re.compile(r"[0-9a-f]{32,128}")


def test_pdfsig_reports_the_signature_valid(signed: Signed) -> None:
    r = run("pdfsig", signed.path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Signature #1:" in r.stdout and "Signature #2:" not in r.stdout
    assert "Signature Validation: Signature is Valid." in r.stdout
    assert "Total document signed" in r.stdout
    assert "Signature Type: ETSI.CAdES.detached" in r.stdout  # PAdES
    # a self-signed certificate is not trusted by poppler, as expected
    assert "Certificate issuer is unknown" in r.stdout or "Untrusted" in r.stdout


def test_pyhanko_validates_the_signature_by_the_report_certificate(signed: Signed) -> None:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    reader = PdfFileReader(io.BytesIO(signed.pdf))
    (embedded,) = reader.embedded_signatures
    trust = asn1_x509.Certificate.load(
        signed.cert.certificate.public_bytes(serialization.Encoding.DER)
    )
    status = validate_pdf_signature(
        embedded, ValidationContext(trust_roots=[trust], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert embedded.signer_cert.sha256.hex() == signed.cert.sha256


def test_pdfdetach_lists_and_saves_the_signed_json_and_its_signature(
    signed: Signed, tmp_path: Path
) -> None:
    r = run("pdfdetach", "-list", signed.path)
    assert r.returncode == 0, r.stderr
    assert "2 embedded files" in r.stdout
    assert "report.json" in r.stdout and "report.json.sig" in r.stdout
    r = run("pdfdetach", "-saveall", "-o", tmp_path, signed.path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report.json").read_bytes() == signed.canonical
    assert (tmp_path / "report.json.sig").read_text() == signed.signature


def test_every_digest_is_whole_in_pdftotext(signed: Signed) -> None:
    text = pdftotext(signed.path)
    tokens = set(text.split())
    r = signed.report
    wanted = [d.recorded for d in r.digests] + [d.recomputed for d in r.digests if d.recomputed]
    wanted += [e.entry_hash for e in r.custody] + [signed.hash, signed.cert.sha256]
    for digest in wanted:
        assert digest in tokens, digest
    # and no hex value is broken: every long hex run in the text is one of the real values
    for run_ in HEX.findall(text):
        assert run_ in wanted, f"a digest was split or changed: {run_}"


def test_every_digest_is_whole_in_the_case_report(case_signed: tuple[CaseReport, Path]) -> None:
    report, path = case_signed
    text = pdftotext(path)
    tokens = set(text.split())
    for item in report.items:
        for digest in item.digests.values():
            assert digest in tokens, digest
    assert "电子数据清单" in text and "盖章处" in text
    assert "已销毁 / disposed" in text


def test_beijing_time_beside_utc_without_microseconds(signed: Signed) -> None:
    text = pdftotext(signed.path)
    # generated_at 2026-03-02T08:15:30.123456Z; intake 2026-02-27T10:01:02.000000Z
    assert "2026-03-02 16:15:30 +08:00" in text and "2026-03-02 08:15:30 UTC" in text
    assert "2026-02-27 18:01:02 +08:00" in text and "2026-02-27 10:01:02 UTC" in text
    assert "北京时间" in text
    assert ".123456" not in text and ".000000" not in text


def test_classification_mark_top_left_of_page_one_and_in_every_header(signed: Signed) -> None:
    pages = len(PdfReader(io.BytesIO(signed.pdf)).pages)
    assert pages >= 3
    first = pdftotext(signed.path, first=1, last=1)
    assert first.lstrip().startswith("机密"), first[:80]  # 机密 (confidential), no period yet
    assert "★" not in first.split("\n")[0]
    for page in range(2, pages + 1):
        text = pdftotext(signed.path, first=page, last=page)
        assert text.lstrip().startswith("机密"), (page, text[:80])


def test_classification_is_translated_and_unclassified_cases_have_no_mark(
    ledger_key: SigningKey, report_cert: ReportCertificate, tmp_path: Path
) -> None:
    internal = sign_and_render(
        realistic_report(case_classification="internal"), ledger_key, report_cert, tmp_path
    )
    text = pdftotext(internal.path)
    assert "内部 / internal" in text
    assert not text.lstrip().startswith(("内部", "秘密", "机密", "绝密"))
    secret = sign_and_render(
        realistic_report(case_classification="top_secret"), ledger_key, report_cert, tmp_path / "s"
    )
    assert pdftotext(secret.path).lstrip().startswith("绝密")


def test_layout_defects_are_gone(signed: Signed) -> None:
    text = pdftotext(signed.path)
    laid_out = [line.strip() for line in pdftotext(signed.path, layout=True).split("\n")]
    lines = [line.strip() for line in text.split("\n")]
    assert "`" not in text  # no Markdown backticks
    assert "无 / none" not in laid_out  # never an orphan line: "none" is a field's value
    assert any(re.fullmatch(r"核验发现 / Findings\s+无 / none", line) for line in laid_out)
    assert text.count("Result") <= 1
    assert signed.report.storage_key not in text  # no internal storage path
    assert "blake3/" not in text
    assert "合规锁定" in text and "S3 对象锁定存储" in text  # COMPLIANCE, s3 translated
    for words in ("核验人 / Verifier", "复核人 / Reviewer", "盖章处", "签名 / Signature"):
        assert words in text, words
    assert "sha256sum -c SHA256SUMS" in lines  # a command on a line of its own
    assert "custody-verify report report.pdf --trusted-key KEY" in lines


def test_huge_unbroken_values_render_shortened_and_stay_whole_in_the_json(
    ledger_key: SigningKey, report_cert: ReportCertificate, tmp_path: Path
) -> None:
    huge = realistic_report(
        description="f" * 9000,
        original_filename="长" * 5000,
        case_title="x" * 2000,
        result="fail",
        findings=["g" * 4000, *(f"finding {i}: 校验值不一致" for i in range(40))],
    )
    signed = sign_and_render(huge, ledger_key, report_cert, tmp_path)
    text = pdftotext(signed.path)
    assert "9000 characters" in text and "5000 characters" in text
    assert "不通过 / FAIL" in text
    attached = PdfReader(io.BytesIO(signed.pdf)).attachments["report.json"][0]
    assert ("f" * 9000).encode() in attached and ("长" * 5000).encode() in attached
    assert run("pdfsig", signed.path).stdout.count("Signature is Valid.") == 1


def test_unsigned_rendering_is_deterministic_and_the_font_is_subset_once() -> None:
    report = realistic_report()
    first = render_pdf(report, report_hash=report_hash(report))
    generation = fonts._CACHE.generations
    assert render_pdf(report, report_hash=report_hash(report)) == first
    other = replace(report, case_title="张某等涉嫌非法放贷案（二）")
    render_pdf(other, report_hash=report_hash(other))
    assert fonts._CACHE.generations == generation  # no new subset for known characters
    rare = replace(report, case_title="龘靐齉")
    render_pdf(rare, report_hash=report_hash(rare))
    assert fonts._CACHE.generations == generation + 1  # new characters: one new subset
    assert fonts.fonts_for(fonts.characters(["龘"])).generation == generation + 1
