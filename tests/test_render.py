"""Reports rendered as HTML and PDF: bilingual labels, every value, escaping, embedded font."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader

from api.reports import render_html, render_pdf
from custody.report import (
    CustodyEvent,
    DigestCheck,
    LedgerCheck,
    LockCheck,
    VerificationReport,
    report_hash,
)

SHA = hashlib.sha256(b"phone image").hexdigest()
B3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
ROOT = base64.b64encode(hashlib.sha256(b"root").digest()).decode()
KEY = "custody.example/ledger+8b0fee9b+AeZps79gStnkhQuzo60xrK5mvLp565jqtjFqz36NtXWx"
NOTE = f"custody.example/ledger\n12\n{ROOT}\n\n— custody.example/ledger i/4Ak{'x' * 84}=\n"
ENTRY_HASHES = [hashlib.sha256(bytes([i])).hexdigest() for i in range(4)]


def realistic_report(**changes: object) -> VerificationReport:
    report = VerificationReport(
        generated_at="2026-03-02T08:15:30.123456Z",
        generated_by="wang.fang",
        generated_by_department="检察院第二检察部",
        case_number="2026-XS-0117",
        case_title="张某等涉嫌非法放贷案",
        case_classification="机密",
        evidence_id="3f8e2a6c-1d4b-4c8e-9a57-2b1f0c9d7e11",
        original_filename="iPhone13_张某_全盘镜像.E01",
        content_type="application/octet-stream",
        seal_no="FC-2026-0117-003",
        description="涉案手机全盘镜像，含微信聊天记录 <script>alert('x')</script> & 其他",
        size_recorded=64_000_000_000,
        size_recomputed=64_000_000_000,
        intake_time="2026-02-27T10:01:02.000000Z",
        intake_technician="li.wei",
        storage_key=f"blake3/{B3}",
        storage_version="v1",
        digests=[
            DigestCheck(algorithm="blake3", recorded=B3, recomputed=B3, match=True),
            DigestCheck(algorithm="sha256", recorded=SHA, recomputed=SHA, match=True),
        ],
        lock=LockCheck(
            backend="s3",
            mode="COMPLIANCE",
            retain_until="2036-02-27T10:01:02.000000Z",
            legal_hold=True,
            expected_retain_until="2036-02-27T10:01:02.000000Z",
            expected_legal_hold=True,
            pinned_version="v1",
            latest_version="v1",
            versions=1,
            ok=True,
            findings=[],
        ),
        custody=[
            CustodyEvent(
                seq=i * 3,
                time=f"2026-02-2{7 + i // 2}T1{i}:00:00.000000Z",
                actor=actor,
                department=dept,
                action=action,
                why=why,
                entry_hash=ENTRY_HASHES[i],
                chain_ok=True,
                proof_ok=True,
            )
            for i, (actor, dept, action, why) in enumerate(
                [
                    ("li.wei", "刑事技术科", "evidence.intake", None),
                    ("wang.fang", "检察院第二检察部", "evidence.view", "审查起诉阅卷"),
                    ("wang.fang", "检察院第二检察部", "evidence.verification", "庭前核验"),
                    ("chen.jing", "律师事务所", "evidence.download", "辩护人阅卷 / defence review"),
                ]
            )
        ],
        ledger=LedgerCheck(
            checkpoint_note=NOTE,
            tree_size=12,
            root_b64=ROOT,
            verifier_key=KEY,
            proofs=[
                {
                    "leaf_index": i * 3,
                    "tree_size": 12,
                    "hashes": [
                        base64.b64encode(hashlib.sha256(bytes([i, j])).digest()).decode()
                        for j in range(4)
                    ],
                }
                for i in range(4)
            ],
            ok=True,
            findings=[],
        ),
        result="pass",
        findings=[],
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report() -> VerificationReport:
    return realistic_report()


@pytest.fixture(scope="module")
def pdf_bytes(report: VerificationReport) -> bytes:
    return render_pdf(report, report_hash=report_hash(report))


def test_html_has_bilingual_labels_and_every_value(report: VerificationReport) -> None:
    page = render_html(report, report_hash=report_hash(report))
    assert page.startswith("<!DOCTYPE html>")
    for label in (
        "案件编号 / Case number",
        "封存编号 / Seal number",
        "校验值比对 / Check values",
        "存储锁定状态 / Storage lock",
        "保管记录 / Custody history",
        "检查点与证明 / Checkpoint and proof",
        "本报告哈希 / Report hash",
        "独立核验方法 / How to verify independently",
        "通过 / PASS",
    ):
        assert label in page, label
    for value in (
        report.case_number,
        report.case_title,
        report.seal_no,
        report.original_filename,
        str(report.size_recorded),
        "2026-02-27 18:01:02 +08:00",  # intake time, Beijing, beside UTC
        "2026-02-27 10:01:02 UTC",
        report.intake_technician,
        SHA,
        B3,
        ROOT,
        KEY,
        report_hash(report),
        "审查起诉阅卷",
        "辩护人阅卷 / defence review",
        *ENTRY_HASHES,
        *(h for p in report.ledger.proofs for h in p["hashes"]),
    ):
        assert value in page, value
    assert "custody.example/ledger\n12\n" in page  # the checkpoint note, verbatim
    assert "sha256sum" in page and "b3sum" in page
    assert report.how_to_verify_zh.split("\n")[0][:20] in page


def test_html_escapes_everything(report: VerificationReport) -> None:
    page = render_html(report, report_hash=report_hash(report))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; 其他" in page
    hostile = realistic_report(case_title='"><img src=x onerror=alert(1)>')
    page = render_html(hostile, report_hash=report_hash(hostile))
    assert "<img" not in page and "&quot;&gt;&lt;img" in page


def test_html_is_self_contained(report: VerificationReport) -> None:
    page = render_html(report, report_hash=report_hash(report))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_html_shows_failures() -> None:
    bad = realistic_report(
        result="fail",
        findings=["sha256 does not match"],
        digests=[DigestCheck(algorithm="sha256", recorded=SHA, recomputed="0" * 64, match=False)],
    )
    page = render_html(bad, report_hash=report_hash(bad))
    assert "不通过 / FAIL" in page and "不一致 / MISMATCH" in page
    assert "sha256 does not match" in page and "0" * 64 in page


def test_pdf_text_has_chinese_labels_and_full_hashes(
    report: VerificationReport, pdf_bytes: bytes
) -> None:
    assert pdf_bytes.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    flat = _squash(text)
    for label in (
        "案件编号",
        "校验值",
        "封存编号",
        "保管记录",
        "本报告哈希",
        "独立核验方法",
        "通过",
    ):
        assert label in flat, label
    for value in (SHA, B3, report_hash(report), *ENTRY_HASHES, report.case_title, report.seal_no):
        assert _squash(value) in flat, value
    assert "<script>alert('x')</script>" in text  # PDF text is not markup: shown as written


def test_pdf_embeds_a_subset_font(pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    embedded = []
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor:
                    embedded.append(str(font["/BaseFont"]))
    assert embedded, "no embedded TrueType font"
    assert any("NotoSansSC" in name for name in embedded)
    assert b"/FontFile2" in pdf_bytes
    assert len(pdf_bytes) < 400_000  # subset, not the 17 MB font


def test_pdf_is_deterministic(report: VerificationReport, pdf_bytes: bytes) -> None:
    assert render_pdf(report, report_hash=report_hash(report)) == pdf_bytes


def test_pdf_metadata_carries_the_report_hash(report: VerificationReport, pdf_bytes: bytes) -> None:
    meta = PdfReader(io.BytesIO(pdf_bytes)).metadata
    assert meta is not None
    assert report_hash(report) in (meta.subject or "")


def test_pdf_long_content_wraps_onto_more_pages() -> None:
    long = realistic_report(
        description="长描述" * 400 + " " + "f" * 300,
        result="fail",
        findings=[f"finding {i}: 校验值不一致" for i in range(30)],
    )
    data = render_pdf(long, report_hash=report_hash(long))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    flat = _squash("".join(p.extract_text() or "" for p in reader.pages))
    assert "不通过" in flat and "finding29" in flat
    assert "1501characters,thewholetextisintheattachedreport.json" in flat  # shortened, said so
