"""Regenerate docs/sample-report.pdf, docs/sample-case-report.pdf and PNGs of their pages.

Runs without the service: a made-up but realistic report, signed with a throwaway ledger key
and a throwaway self-signed report certificate (so the fingerprints differ on every run).
Needs the server extra and poppler-utils (``pdftoppm``)::

    .venv/bin/python docs/make_sample_report.py
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.reports import case_pdf, signed_report_pdf  # noqa: E402
from api.reports.signing import generate_certificate  # noqa: E402
from custody.case_report import (  # noqa: E402
    CaseItem,
    CaseReport,
    ItemVerification,
    case_report_bytes,
    case_report_hash,
)
from custody.checkpoint import SigningKey  # noqa: E402
from custody.report import (  # noqa: E402
    CustodyEvent,
    DigestCheck,
    LedgerCheck,
    LockCheck,
    VerificationReport,
    report_bytes,
    report_hash,
    sign_report,
)

OUT = ROOT / "docs"
ORIGIN = "lab.example/ledger"


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sample_report(cert_sha256: str, key: SigningKey) -> VerificationReport:
    sha = _h("phone image")
    b3 = hashlib.blake2b(b"phone image", digest_size=32).hexdigest()  # stands in for BLAKE3
    md5 = hashlib.md5(b"phone image", usedforsecurity=False).hexdigest()
    root = base64.b64encode(hashlib.sha256(b"root").digest()).decode()
    note = f"{ORIGIN}\n42\n{root}\n\n— {ORIGIN} {base64.b64encode(bytes(68)).decode()}\n"
    events = [
        ("li.wei", "刑事技术科", "evidence.intake", None),
        ("wang.fang", "检察院第二检察部", "evidence.view", "审查起诉阅卷"),
        ("chen.jing", "某律师事务所", "evidence.download", "辩护人阅卷 / defence review"),
        ("wang.fang", "检察院第二检察部", "evidence.verification", "庭前核验"),
    ]
    return VerificationReport(
        generated_at="2026-03-02T08:15:30.123456Z",
        generated_by="wang.fang",
        generated_by_department="检察院第二检察部",
        generated_by_role="prosecutor",
        case_number="2026-XS-0117",
        case_title="张某等涉嫌非法放贷案",
        case_classification="confidential",
        evidence_id="3f8e2a6c-1d4b-4c8e-9a57-2b1f0c9d7e11",
        original_filename="iPhone13_张某_全盘镜像.E01",
        content_type="application/octet-stream",
        seal_no="FC-2026-0117-003",
        description="涉案手机全盘镜像，含微信聊天记录；封存袋完好，现场录像编号 V-0117-02。",
        size_recorded=64_000_000_000,
        size_recomputed=64_000_000_000,
        intake_time="2026-02-27T10:01:02.000000Z",
        intake_technician="li.wei",
        storage_key=f"blake3/{b3}",
        storage_version="v1",
        digests=[
            DigestCheck(algorithm="blake3", recorded=b3, recomputed=b3, match=True),
            DigestCheck(algorithm="sha256", recorded=sha, recomputed=sha, match=True),
            DigestCheck(algorithm="md5", recorded=md5, recomputed=md5, match=True),
        ],
        lock=LockCheck(
            backend="s3",
            mode="COMPLIANCE",
            retain_until="2036-02-27T10:01:02Z",
            legal_hold=True,
            expected_retain_until="2036-02-27T10:01:02Z",
            expected_legal_hold=True,
            pinned_version="v1",
            latest_version="v1",
            versions=1,
            ok=True,
            findings=[],
        ),
        custody=[
            CustodyEvent(
                seq=10 + i * 7,
                time=f"2026-02-2{7 + i // 2}T1{i}:00:00Z",
                actor=actor,
                department=dept,
                action=action,
                why=why,
                entry_hash=_h(f"entry {i}"),
                chain_ok=True,
                proof_ok=True,
            )
            for i, (actor, dept, action, why) in enumerate(events)
        ],
        ledger=LedgerCheck(
            checkpoint_note=note,
            tree_size=42,
            root_b64=root,
            verifier_key=key.verifier().to_text(),
            proofs=[
                {
                    "leaf_index": 10 + i * 7,
                    "tree_size": 42,
                    "hashes": [
                        base64.b64encode(hashlib.sha256(bytes([i, j])).digest()).decode()
                        for j in range(3)
                    ],
                }
                for i in range(len(events))
            ],
            ok=True,
            findings=[],
        ),
        result="pass",
        findings=[],
        pdf_certificate_sha256=cert_sha256,
    )


def sample_case(report: VerificationReport, report_sha: str, cert_sha256: str) -> CaseReport:
    first = CaseItem(
        item=1,
        evidence_id=report.evidence_id,
        file_name=report.original_filename,
        content_type=report.content_type,
        seal_no=report.seal_no,
        description=report.description,
        size=report.size_recorded,
        digests=report.recorded_digests(),
        intake_time=report.intake_time,
        technician=report.intake_technician,
        technician_department="刑事技术科",
        status="in_custody",
        verification=ItemVerification(
            time=report.generated_at, result="pass", report_sha256=report_sha, findings=[]
        ),
    )
    second = replace(
        first,
        item=2,
        evidence_id="9b1c0d2e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
        file_name="微信聊天记录导出.txt",
        seal_no="FC-2026-0117-004",
        description="聊天记录导出文件",
        size=1_280_512,
        digests={"blake3": _h("chat b3"), "sha256": _h("chat")},
        status="disposed",
        verification=ItemVerification(
            time="2026-02-28T09:00:00Z", result="pass", report_sha256=None, findings=[]
        ),
    )
    return CaseReport(
        generated_at=report.generated_at,
        generated_by=report.generated_by,
        generated_by_department=report.generated_by_department,
        generated_by_role="prosecutor",
        case_number=report.case_number,
        case_title=report.case_title,
        case_classification=report.case_classification,
        case_department="刑事技术科",
        purpose="移送法院 / transfer to the court",
        items=[first, second],
        pdf_certificate_sha256=cert_sha256,
    )


def pngs(pdf: Path, stem: str) -> None:
    for old in OUT.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(OUT / stem)], check=True)


def main() -> None:
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm (poppler-utils) is needed to draw the pages")
    key = SigningKey.generate(ORIGIN)
    cert = generate_certificate(f"{ORIGIN} report signer")
    report = sample_report(cert.sha256, key)
    raw = report_bytes(report)
    signature = sign_report(raw, key)
    pdf = signed_report_pdf(
        report, canonical=raw, report_hash=report_hash(report), signature=signature, signer=cert
    )
    (OUT / "sample-report.pdf").write_bytes(pdf)
    pngs(OUT / "sample-report.pdf", "sample-report")
    case = sample_case(report, report_hash(report), cert.sha256)
    case_raw = case_report_bytes(case)
    case_signature = sign_report(case_raw, key)
    (OUT / "sample-case-report.pdf").write_bytes(
        case_pdf(
            case,
            canonical=case_raw,
            report_hash=case_report_hash(case),
            signature=case_signature,
            signer=cert,
        )
    )
    pngs(OUT / "sample-case-report.pdf", "sample-case-report")
    (OUT / "sample-ledger-key.txt").write_text(key.verifier().to_text() + "\n")
    print(f"wrote {OUT}/sample-report.pdf, sample-case-report.pdf and their pages")


if __name__ == "__main__":
    main()
