"""The verification report model: JSON round trip, canonical bytes, hash, signature."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace

import pytest

from custody.canonical import canonical_json
from custody.checkpoint import SigningKey
from custody.errors import CheckpointError, MalformedMetadata
from custody.report import (
    HOW_TO_VERIFY_EN,
    HOW_TO_VERIFY_ZH,
    CustodyEvent,
    DigestCheck,
    LedgerCheck,
    LockCheck,
    VerificationReport,
    parse_report,
    report_bytes,
    report_hash,
    sign_report,
    verify_report_signature,
)

SHA = hashlib.sha256(b"evidence").hexdigest()
B3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def sample_report(**changes: object) -> VerificationReport:
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
        description="涉案手机全盘镜像",
        size_recorded=8,
        size_recomputed=8,
        intake_time="2026-02-27T10:01:02.000000Z",
        intake_technician="li.wei",
        storage_key=f"blake3/{B3}",
        storage_version=None,
        digests=[
            DigestCheck(algorithm="blake3", recorded=B3, recomputed=B3, match=True),
            DigestCheck(algorithm="sha256", recorded=SHA, recomputed=SHA, match=True),
            DigestCheck(algorithm="md5", recorded="0" * 32, recomputed=None, match=False),
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
                seq=12,
                time="2026-02-27T10:01:02.000000Z",
                actor="li.wei",
                department="刑事技术科",
                action="evidence.intake",
                why=None,
                entry_hash="ab" * 32,
                chain_ok=True,
                proof_ok=True,
            ),
            CustodyEvent(
                seq=15,
                time="2026-02-28T10:01:02.000000Z",
                actor="wang.fang",
                department="检察院第二检察部",
                action="evidence.view",
                why="审查起诉阅卷",
                entry_hash="cd" * 32,
                chain_ok=True,
                proof_ok=True,
            ),
        ],
        ledger=LedgerCheck(
            checkpoint_note="custody.example/ledger\n16\n"
            + base64.b64encode(bytes(32)).decode()
            + "\n\n— custody.example/ledger AAAA\n",
            tree_size=16,
            root_b64=base64.b64encode(bytes(32)).decode(),
            verifier_key="custody.example/ledger+00000000+AQ==",
            proofs=[{"leaf_index": 12, "tree_size": 16, "hashes": []}],
            ok=True,
            findings=[],
        ),
        result="fail",
        findings=["md5 was not recomputed"],
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    report = sample_report()
    value = report.to_json()
    assert value["report_version"] == 2
    assert value["how_to_verify_en"] == HOW_TO_VERIFY_EN
    assert value["how_to_verify_zh"] == HOW_TO_VERIFY_ZH
    again = VerificationReport.from_json(json.loads(json.dumps(value)))
    assert again == report
    assert parse_report(report_bytes(report)) == report


def test_every_field_is_in_the_json() -> None:
    value = sample_report().to_json()
    for name in VerificationReport.__dataclass_fields__:
        assert name in value or name == "secrecy_mark"  # only on classified cases
    assert replace(sample_report(), secrecy_mark="机密★10年").to_json()["secrecy_mark"] == (
        "机密★10年"
    )
    for name in LockCheck.__dataclass_fields__:
        assert name in value["lock"]
    for name in CustodyEvent.__dataclass_fields__:
        assert name in value["custody"][0]
    for name in LedgerCheck.__dataclass_fields__:
        assert name in value["ledger"]


def test_canonical_bytes_are_stable_and_hash_is_sha256_of_them() -> None:
    report = sample_report()
    raw = report_bytes(report)
    assert raw == canonical_json(json.loads(raw))
    assert raw == report_bytes(VerificationReport.from_json(json.loads(raw)))
    assert b"\n" not in raw  # so it can never be mistaken for a signed-note body
    assert report_hash(report) == hashlib.sha256(raw).hexdigest()
    assert report_hash(replace(report, description="changed")) != report_hash(report)
    assert "report_hash" not in report.to_json()


def test_from_json_rejects_malformed_reports() -> None:
    value = sample_report().to_json()
    for key, bad in (
        ("size_recorded", "8"),
        ("result", "maybe"),
        ("digests", {}),
        ("report_version", 3),
        ("seal_no", 5),
    ):
        broken = {**value, key: bad}
        with pytest.raises(MalformedMetadata):
            VerificationReport.from_json(broken)
    missing = dict(value)
    del missing["lock"]
    with pytest.raises(MalformedMetadata, match="lock"):
        VerificationReport.from_json(missing)
    with pytest.raises(MalformedMetadata):
        parse_report(b"not json")
    with pytest.raises(MalformedMetadata):
        sample_report(result="unknown")


def test_signature_ok_tampered_and_wrong_key() -> None:
    key = SigningKey.generate("custody.example/ledger")
    raw = report_bytes(sample_report())
    signature = sign_report(raw, key)
    assert signature.endswith("\n") and signature.count("\n") == 1
    name, sig64 = signature.split()
    assert name == key.name
    decoded = base64.b64decode(sig64)
    assert len(decoded) == 68 and decoded[:4] == key.key_id
    assert verify_report_signature(raw, signature, [key.verifier()]) == key.verifier()

    tampered = report_bytes(sample_report(description="涉案手机全盘镜像（已替换）"))
    with pytest.raises(CheckpointError, match="changed after it was signed"):
        verify_report_signature(tampered, signature, [key.verifier()])

    other = SigningKey.generate("custody.example/ledger")
    named = (
        f"signed by key {key.name}+{key.key_id.hex()}, not by the trusted key "
        f"{other.name}+{other.key_id.hex()}"
    )
    with pytest.raises(CheckpointError, match=re.escape(named)):
        verify_report_signature(raw, signature, [other.verifier()])
    with pytest.raises(CheckpointError, match=f"signed by key .*{other.key_id.hex()}, not by"):
        verify_report_signature(raw, sign_report(raw, other), [key.verifier()])


def test_signature_lines_by_several_keys() -> None:
    old, new = (SigningKey.generate("custody.example/ledger") for _ in range(2))
    raw = report_bytes(sample_report())
    both = sign_report(raw, old) + sign_report(raw, new)
    assert verify_report_signature(raw, both, [new.verifier()]) == new.verifier()
    # a bad line claiming a trusted key rejects the whole signature
    forged = sign_report(b"something else", new) + sign_report(raw, old)
    with pytest.raises(CheckpointError):
        verify_report_signature(raw, forged, [new.verifier(), old.verifier()])


@pytest.mark.parametrize(
    "text",
    ["", "\n", "nameonly\n", "name not*base64\n", "name " + base64.b64encode(b"short").decode()],
)
def test_malformed_signatures(text: str) -> None:
    key = SigningKey.generate("custody.example/ledger")
    with pytest.raises(CheckpointError):
        verify_report_signature(b"{}", text, [key.verifier()])


def test_non_canonical_signature_is_refused() -> None:
    """The same signature bytes spelled with non-zero trailing bits: refused, as checkpoints do."""
    key = SigningKey.generate("custody.example/ledger")
    raw = report_bytes(sample_report())
    name, sig64 = sign_report(raw, key).split()
    assert sig64.endswith("=") and not sig64.endswith("==")  # 68 bytes: 2 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(sig64[-2])
    respelled = sig64[:-2] + alphabet[last | 1] + "="
    assert base64.b64decode(respelled, validate=True) == base64.b64decode(sig64)
    with pytest.raises(CheckpointError, match="not canonical base64"):
        verify_report_signature(raw, f"{name} {respelled}\n", [key.verifier()])


def test_how_to_verify_mentions_the_recipes() -> None:
    for text in (HOW_TO_VERIFY_EN, HOW_TO_VERIFY_ZH):
        assert "sha256sum" in text and "b3sum" in text
        assert "custody verify-bundle" in text
        assert "(printf '\\0'; cat ledger/entries/000012.json) | sha256sum" in text


def test_version_1_reports_are_still_read() -> None:
    report = sample_report(report_version=1)
    value = report.to_json()
    assert "pdf_certificate_sha256" not in value and "generated_by_role" not in value
    again = VerificationReport.from_json(json.loads(json.dumps(value)))
    assert again == report and again.pdf_certificate_sha256 is None
    v2 = sample_report(pdf_certificate_sha256="ab" * 32, generated_by_role="prosecutor")
    assert VerificationReport.from_json(v2.to_json()) == v2


def test_how_to_verify_has_no_markup_and_commands_on_their_own_lines() -> None:
    for text in (HOW_TO_VERIFY_EN, HOW_TO_VERIFY_ZH):
        assert "`" not in text
        commands = [line.strip() for line in text.split("\n") if line.startswith("     ")]
        assert "sha256sum -c SHA256SUMS" in commands and "b3sum -c B3SUMS" in commands
