"""``custody-verify report report.pdf``: a lone PDF proves itself, and each attack is named.

The attacks a lone PDF must survive: its bytes edited, re-signed with another certificate,
its embedded JSON changed, its printed digests changed, bytes appended after signing.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from api.reports import render_pdf
from api.reports.signing import generate_certificate, sign_pdf
from custody.__main__ import main
from custody.report import report_bytes, report_hash
from tests.api.reports.conftest import Signed, case_signed, ledger_key, report_cert, signed
from tests.test_render import SHA

__all__ = ["case_signed", "ledger_key", "report_cert", "signed"]  # the shared fixtures


def verify(pdf: Path, key_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["report", str(pdf), "--trusted-key", str(key_file)])
    return code, capsys.readouterr().out


def fails(code: int, out: str, *expected: str) -> None:
    assert code == 1, out
    assert out.splitlines()[-1].startswith("FAIL: PDF report does NOT verify"), out
    for text in expected:
        assert text in out, (text, out)


def test_clean_pdf_passes(signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = verify(signed.path, signed.key_file, capsys)
    assert code == 0, out
    assert "FAIL" not in out
    assert (
        f"OK: PAdES signature valid over the whole file, by certificate {signed.cert.sha256}" in out
    )
    assert f"OK: embedded report.json signed by the trusted key {signed.key.name}+" in out
    assert f"OK: the PDF signer is the certificate {signed.cert.sha256}" in out
    assert "printed whole, and no other" in out
    assert f"  OK: sha256 recorded {SHA} recomputed {SHA}" in out
    assert out.splitlines()[-1] == "OK: PDF report verified"


def test_clean_pdf_passes_as_json_through_python_m_custody(signed: Signed) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "custody",
            "report",
            str(signed.path),
            "--trusted-key",
            str(signed.key_file),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    value = json.loads(r.stdout)
    assert value["ok"] is True and value["genuine"] is True and value["kind"] == "verification"
    assert value["report_hash"] == signed.hash
    assert value["signer_certificate_sha256"] == signed.cert.sha256


def test_case_report_pdf_passes(
    case_signed: tuple[object, Path], signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = case_signed
    code, out = verify(path, signed.key_file, capsys)
    assert code == 0, out
    assert "case report of 2026-XS-0117 (2 item(s))" in out


def test_attack_pdf_bytes_edited(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = signed.pdf
    edited = bytearray(data)
    index = data.find(b"/Title")
    edited[index + 8] ^= 0x01  # one bit of the signed document information
    path = tmp_path / "edited.pdf"
    path.write_bytes(bytes(edited))
    code, out = verify(path, signed.key_file, capsys)
    fails(code, out, "FAIL: the PDF signature does not match the signed bytes: the PDF was edited")


def test_attack_pdf_bytes_appended_after_signing(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a second, incremental revision: the original signature is intact but covers less
    forger = generate_certificate("custody.example/ledger report signer")
    path = tmp_path / "appended.pdf"
    path.write_bytes(sign_pdf(signed.pdf, forger, reason="countersigned", field="Second"))
    code, out = verify(path, signed.key_file, capsys)
    fails(code, out, "carries 2 signatures", "re-signed with another certificate")


def test_attack_pdf_resigned_with_another_certificate(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the same report, its genuine embedded JSON and signature, signed by a forger's
    # certificate with the very same name
    forger = generate_certificate("custody.example/ledger report signer")
    unsigned = render_pdf(
        signed.report,
        report_hash=signed.hash,
        signature=signed.signature,
        canonical=signed.canonical,
        signer=forger,
    )
    path = tmp_path / "resigned.pdf"
    path.write_bytes(sign_pdf(unsigned, forger, reason="forged"))
    code, out = verify(path, signed.key_file, capsys)
    fails(
        code,
        out,
        f"FAIL: the PDF was re-signed with another certificate: signed by {forger.sha256}",
        f"but the signed report names the certificate {signed.cert.sha256}",
    )
    assert "OK: embedded report.json signed by the trusted key" in out


def test_attack_pdf_embedded_json_changed(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an insider with the report certificate swaps the embedded JSON (a forged digest) but
    # cannot sign it with the ledger key
    forged = replace(
        signed.report,
        digests=[replace(d, recorded="0" * len(d.recorded)) for d in signed.report.digests],
    )
    unsigned = render_pdf(
        forged,
        report_hash=report_hash(forged),
        signature=signed.signature,
        canonical=report_bytes(forged),
        signer=signed.cert,
    )
    path = tmp_path / "json-changed.pdf"
    path.write_bytes(sign_pdf(unsigned, signed.cert, reason="forged"))
    attached = PdfReader(io.BytesIO(path.read_bytes())).attachments["report.json"][0]
    assert attached == report_bytes(forged)
    code, out = verify(path, signed.key_file, capsys)
    fails(
        code,
        out,
        "OK: PAdES signature valid",
        "FAIL: the embedded report.json does not verify with the trusted key",
        "the report was changed after it was signed",
    )


def test_attack_pdf_printed_digest_changed(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the genuine JSON and signature embedded, but the printed pages show another digest
    shown = replace(
        signed.report,
        digests=[
            replace(d, recorded="e" * len(d.recorded), recomputed="e" * len(d.recorded))
            for d in signed.report.digests
        ],
    )
    unsigned = render_pdf(
        shown,
        report_hash=signed.hash,
        signature=signed.signature,
        canonical=signed.canonical,
        signer=signed.cert,
    )
    path = tmp_path / "printed-changed.pdf"
    path.write_bytes(sign_pdf(unsigned, signed.cert, reason="forged"))
    code, out = verify(path, signed.key_file, capsys)
    fails(
        code,
        out,
        "OK: embedded report.json signed by the trusted key",
        "FAIL: the PDF text does not show sha256 recorded at intake "
        f"{signed.report.digests[1].recorded} whole",
        "FAIL: the PDF text shows " + "e" * 64 + ", a value the signed report lacks",
    )


def test_attack_pdf_checked_against_another_ledger_key(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from custody.checkpoint import SigningKey

    other = tmp_path / "other.pub"
    other.write_text(SigningKey.generate(signed.key.name).verifier().to_text())
    code, out = verify(signed.path, other, capsys)
    fails(code, out, "not by the trusted key")


def test_a_json_report_is_still_checked_with_its_detached_signature(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "report.json").write_bytes(signed.canonical)
    (tmp_path / "report.json.sig").write_text(signed.signature)
    code, out = verify(tmp_path / "report.json", signed.key_file, capsys)
    assert code == 0, out
    assert out.startswith("OK: report signed by the trusted key")
