"""The verification report: what was checked about one evidence item, and how to re-check it.

A report is a value. Its signed form is its RFC 8785 canonical JSON (:func:`report_bytes`);
its own hash (:func:`report_hash`) is printed in the HTML and PDF renderings and returned
beside the JSON, never inside it. The detached signature (:func:`sign_report`) uses the
ledger's checkpoint key, in the signed-note signature-line form ``<name> base64(id || sig)``.
Report bytes contain no newline (canonical JSON escapes it) and so can never be mistaken for
a signed-note body, which always has at least three lines: one key safely signs both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from custody import b64
from custody.canonical import canonical_json
from custody.checkpoint import SigningKey, VerifierKey
from custody.errors import CheckpointError, MalformedMetadata

REPORT_VERSION = 2  # 2: the verifier's role and the PDF signing certificate's fingerprint
READABLE_VERSIONS = (1, 2)
Result = Literal["pass", "fail"]

# Steps are prose; a line indented by five spaces is a command, to be shown (and copied) as
# one monospace line. No markup: the renderings print these texts as they are.
HOW_TO_VERIFY_EN = (
    "1. Recompute the check values of the content and compare them with the values "
    "recorded in this report (BLAKE3 and SHA-256):\n"
    "     b3sum FILE\n"
    "     sha256sum FILE\n"
    "   In a court bundle, run inside data/:\n"
    "     sha256sum -c SHA256SUMS\n"
    "     b3sum -c B3SUMS\n"
    "2. Check this report's signatures and everything it refers to with the lab's published "
    "verifier key (a PDF report carries its signed JSON and a PAdES signature):\n"
    "     custody-verify report report.pdf --trusted-key KEY\n"
    "     custody verify-bundle BUNDLE --trusted-key KEY\n"
    "3. Check a ledger entry by hand: its hash is SHA-256(0x00 || entry bytes); it must "
    "equal the entry hash listed in the custody history:\n"
    "     (printf '\\0'; cat ledger/entries/000012.json) | sha256sum\n"
    "4. Verify the checkpoint's Ed25519 signature (C2SP signed note) against the published "
    "verifier key, then fold the entry hash with its inclusion proof (RFC 9162) and compare "
    "the result with the root hash in the checkpoint."
)

HOW_TO_VERIFY_ZH = (
    "1. 重新计算检材内容的校验值（BLAKE3 和 SHA-256），与本报告记录的校验值比对：\n"
    "     b3sum 文件\n"
    "     sha256sum 文件\n"
    "   对于移交法院的数据包，在 data/ 目录下运行：\n"
    "     sha256sum -c SHA256SUMS\n"
    "     b3sum -c B3SUMS\n"
    "2. 使用本单位公布的验证公钥核验本报告的签名及其引用的全部内容"
    "（PDF 报告内附签名的 JSON 报告并带有 PAdES 电子签名）：\n"
    "     custody-verify report report.pdf --trusted-key 公钥\n"
    "     custody verify-bundle 数据包目录 --trusted-key 公钥\n"
    "3. 手工核验保管记录（账本条目）：条目哈希 = SHA-256(0x00 || 条目字节)，"
    "结果应与保管记录中列出的条目哈希一致：\n"
    "     (printf '\\0'; cat ledger/entries/000012.json) | sha256sum\n"
    "4. 用公布的验证公钥核验检查点的 Ed25519 签名（C2SP 签名注记格式），再按 RFC 9162 "
    "用包含证明逐级计算，所得根哈希应与检查点中的根哈希一致。"
)


# --- strict JSON field readers ---------------------------------------------------------


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedMetadata(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _get(obj: Mapping[str, Any], key: str, where: str) -> object:
    if key not in obj:
        raise MalformedMetadata(f"{where} lacks the field {key!r}")
    value: object = obj[key]
    return value


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _get(obj, key, where)
    if not isinstance(value, str):
        raise MalformedMetadata(f"{where}.{key} must be a string, got {type(value).__name__}")
    return value


def _opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = _get(obj, key, where)
    if value is not None and not isinstance(value, str):
        raise MalformedMetadata(f"{where}.{key} must be a string or null")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = _get(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMetadata(f"{where}.{key} must be an integer, got {type(value).__name__}")
    return value


def _opt_int(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    value = _get(obj, key, where)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMetadata(f"{where}.{key} must be an integer or null")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = _get(obj, key, where)
    if not isinstance(value, bool):
        raise MalformedMetadata(f"{where}.{key} must be true or false, got {value!r}")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _get(obj, key, where)
    if not isinstance(value, list):
        raise MalformedMetadata(f"{where}.{key} must be a list, got {type(value).__name__}")
    return value


def _str_list(obj: Mapping[str, Any], key: str, where: str) -> list[str]:
    items = _list(obj, key, where)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise MalformedMetadata(f"{where}.{key}[{i}] must be a string")
    return list(items)


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DigestCheck:
    """One algorithm: the value recorded at intake next to the one recomputed now."""

    algorithm: str
    recorded: str
    recomputed: str | None
    match: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "recorded": self.recorded,
            "recomputed": self.recomputed,
            "match": self.match,
        }

    @classmethod
    def from_json(cls, obj: object, where: str = "digest check") -> DigestCheck:
        m = _obj(obj, where)
        return cls(
            algorithm=_str(m, "algorithm", where),
            recorded=_str(m, "recorded", where),
            recomputed=_opt_str(m, "recomputed", where),
            match=_bool(m, "match", where),
        )


@dataclass(frozen=True, kw_only=True)
class LockCheck:
    """The storage lock (WORM retention, legal hold, object version) as found now."""

    backend: str
    mode: str | None
    retain_until: str | None
    legal_hold: bool
    expected_retain_until: str | None
    expected_legal_hold: bool
    pinned_version: str | None
    latest_version: str | None
    versions: int
    ok: bool
    findings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "mode": self.mode,
            "retain_until": self.retain_until,
            "legal_hold": self.legal_hold,
            "expected_retain_until": self.expected_retain_until,
            "expected_legal_hold": self.expected_legal_hold,
            "pinned_version": self.pinned_version,
            "latest_version": self.latest_version,
            "versions": self.versions,
            "ok": self.ok,
            "findings": list(self.findings),
        }

    @classmethod
    def from_json(cls, obj: object, where: str = "lock") -> LockCheck:
        m = _obj(obj, where)
        return cls(
            backend=_str(m, "backend", where),
            mode=_opt_str(m, "mode", where),
            retain_until=_opt_str(m, "retain_until", where),
            legal_hold=_bool(m, "legal_hold", where),
            expected_retain_until=_opt_str(m, "expected_retain_until", where),
            expected_legal_hold=_bool(m, "expected_legal_hold", where),
            pinned_version=_opt_str(m, "pinned_version", where),
            latest_version=_opt_str(m, "latest_version", where),
            versions=_int(m, "versions", where),
            ok=_bool(m, "ok", where),
            findings=_str_list(m, "findings", where),
        )


@dataclass(frozen=True, kw_only=True)
class CustodyEvent:
    """One ledger entry about the item: who, when, what, why, and whether it checked out."""

    seq: int
    time: str
    actor: str
    department: str
    action: str
    why: str | None
    entry_hash: str
    chain_ok: bool
    proof_ok: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "department": self.department,
            "action": self.action,
            "why": self.why,
            "entry_hash": self.entry_hash,
            "chain_ok": self.chain_ok,
            "proof_ok": self.proof_ok,
        }

    @classmethod
    def from_json(cls, obj: object, where: str = "custody event") -> CustodyEvent:
        m = _obj(obj, where)
        return cls(
            seq=_int(m, "seq", where),
            time=_str(m, "time", where),
            actor=_str(m, "actor", where),
            department=_str(m, "department", where),
            action=_str(m, "action", where),
            why=_opt_str(m, "why", where),
            entry_hash=_str(m, "entry_hash", where),
            chain_ok=_bool(m, "chain_ok", where),
            proof_ok=_bool(m, "proof_ok", where),
        )


@dataclass(frozen=True, kw_only=True)
class LedgerCheck:
    """The signed checkpoint the events were proven against, with one proof per event."""

    checkpoint_note: str
    tree_size: int
    root_b64: str
    verifier_key: str
    proofs: list[dict[str, Any]]
    ok: bool
    findings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoint_note": self.checkpoint_note,
            "tree_size": self.tree_size,
            "root_b64": self.root_b64,
            "verifier_key": self.verifier_key,
            "proofs": [dict(p) for p in self.proofs],
            "ok": self.ok,
            "findings": list(self.findings),
        }

    @classmethod
    def from_json(cls, obj: object, where: str = "ledger") -> LedgerCheck:
        m = _obj(obj, where)
        proofs = _list(m, "proofs", where)
        return cls(
            checkpoint_note=_str(m, "checkpoint_note", where),
            tree_size=_int(m, "tree_size", where),
            root_b64=_str(m, "root_b64", where),
            verifier_key=_str(m, "verifier_key", where),
            proofs=[dict(_obj(p, f"{where}.proofs[{i}]")) for i, p in enumerate(proofs)],
            ok=_bool(m, "ok", where),
            findings=_str_list(m, "findings", where),
        )


@dataclass(frozen=True, kw_only=True)
class VerificationReport:
    """Everything one verification of one evidence item found (法发〔2016〕22号 Arts. 22–23)."""

    report_version: int = REPORT_VERSION
    generated_at: str
    generated_by: str
    generated_by_department: str
    generated_by_role: str = ""  # version 1 reports do not record it
    case_number: str
    case_title: str
    case_classification: str
    evidence_id: str
    original_filename: str
    content_type: str
    seal_no: str | None
    description: str
    size_recorded: int
    size_recomputed: int | None
    intake_time: str
    intake_technician: str
    storage_key: str
    storage_version: str | None
    digests: list[DigestCheck]
    lock: LockCheck
    custody: list[CustodyEvent]
    ledger: LedgerCheck
    result: Result
    findings: list[str]
    how_to_verify_en: str = HOW_TO_VERIFY_EN
    how_to_verify_zh: str = HOW_TO_VERIFY_ZH
    # SHA-256 of the DER certificate that signs the PDF rendering (PAdES): signed here by
    # the ledger key, so one trusted key also pins the PDF's signer. None in version 1.
    pdf_certificate_sha256: str | None = None
    secrecy_mark: str | None = None  # 「密级★期限」 of a classified case; absent otherwise

    def __post_init__(self) -> None:
        if self.result not in ("pass", "fail"):
            raise MalformedMetadata(f"report result must be 'pass' or 'fail', got {self.result!r}")

    @property
    def passed(self) -> bool:
        return self.result == "pass"

    def recorded_digests(self) -> dict[str, str]:
        """The digests recorded at intake, keyed by algorithm."""
        return {d.algorithm: d.recorded for d in self.digests}

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "report_version": self.report_version,
            "generated_at": self.generated_at,
            "generated_by": self.generated_by,
            "generated_by_department": self.generated_by_department,
            "case_number": self.case_number,
            "case_title": self.case_title,
            "case_classification": self.case_classification,
            "evidence_id": self.evidence_id,
            "original_filename": self.original_filename,
            "content_type": self.content_type,
            "seal_no": self.seal_no,
            "description": self.description,
            "size_recorded": self.size_recorded,
            "size_recomputed": self.size_recomputed,
            "intake_time": self.intake_time,
            "intake_technician": self.intake_technician,
            "storage_key": self.storage_key,
            "storage_version": self.storage_version,
            "digests": [d.to_json() for d in self.digests],
            "lock": self.lock.to_json(),
            "custody": [c.to_json() for c in self.custody],
            "ledger": self.ledger.to_json(),
            "result": self.result,
            "findings": list(self.findings),
            "how_to_verify_en": self.how_to_verify_en,
            "how_to_verify_zh": self.how_to_verify_zh,
        }
        if self.report_version >= 2:
            value["generated_by_role"] = self.generated_by_role
            value["pdf_certificate_sha256"] = self.pdf_certificate_sha256
        if self.secrecy_mark is not None:
            value["secrecy_mark"] = self.secrecy_mark
        return value

    @classmethod
    def from_json(cls, obj: object) -> VerificationReport:
        where = "report"
        m = _obj(obj, where)
        version = _int(m, "report_version", where)
        if version not in READABLE_VERSIONS:
            raise MalformedMetadata(
                f"report version {version} is not supported (this software reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))})"
            )
        later = version >= 2
        result_text = _str(m, "result", where)
        result: Result
        if result_text == "pass":
            result = "pass"
        elif result_text == "fail":
            result = "fail"
        else:
            raise MalformedMetadata(f"report.result must be 'pass' or 'fail', got {result_text!r}")
        return cls(
            report_version=version,
            generated_at=_str(m, "generated_at", where),
            generated_by=_str(m, "generated_by", where),
            generated_by_department=_str(m, "generated_by_department", where),
            generated_by_role=_str(m, "generated_by_role", where) if later else "",
            case_number=_str(m, "case_number", where),
            case_title=_str(m, "case_title", where),
            case_classification=_str(m, "case_classification", where),
            evidence_id=_str(m, "evidence_id", where),
            original_filename=_str(m, "original_filename", where),
            content_type=_str(m, "content_type", where),
            seal_no=_opt_str(m, "seal_no", where),
            description=_str(m, "description", where),
            size_recorded=_int(m, "size_recorded", where),
            size_recomputed=_opt_int(m, "size_recomputed", where),
            intake_time=_str(m, "intake_time", where),
            intake_technician=_str(m, "intake_technician", where),
            storage_key=_str(m, "storage_key", where),
            storage_version=_opt_str(m, "storage_version", where),
            digests=[
                DigestCheck.from_json(d, f"report.digests[{i}]")
                for i, d in enumerate(_list(m, "digests", where))
            ],
            lock=LockCheck.from_json(_get(m, "lock", where), "report.lock"),
            custody=[
                CustodyEvent.from_json(c, f"report.custody[{i}]")
                for i, c in enumerate(_list(m, "custody", where))
            ],
            ledger=LedgerCheck.from_json(_get(m, "ledger", where), "report.ledger"),
            result=result,
            findings=_str_list(m, "findings", where),
            how_to_verify_en=_str(m, "how_to_verify_en", where),
            how_to_verify_zh=_str(m, "how_to_verify_zh", where),
            pdf_certificate_sha256=(
                _opt_str(m, "pdf_certificate_sha256", where) if later else None
            ),
            secrecy_mark=_opt_str(m, "secrecy_mark", where) if "secrecy_mark" in m else None,
        )


def report_bytes(report: VerificationReport) -> bytes:
    """The signed form: RFC 8785 canonical JSON of :meth:`VerificationReport.to_json`."""
    return canonical_json(report.to_json())


def report_hash(report: VerificationReport) -> str:
    """SHA-256 hex of :func:`report_bytes`: the report's own hash, shown beside it."""
    return hashlib.sha256(report_bytes(report)).hexdigest()


def parse_report(data: bytes) -> VerificationReport:
    """Parse report bytes (as signed) into a report; MalformedMetadata says what is wrong."""
    try:
        value: object = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedMetadata(f"report is not valid JSON: {e}") from e
    return VerificationReport.from_json(value)


# --- detached signature ----------------------------------------------------------------


def sign_report(report_bytes: bytes, key: SigningKey) -> str:
    """``"<key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n"``."""
    raw = key.key_id + key.sign(report_bytes)
    return f"{key.name} {b64.encode(raw)}\n"


def verify_report_signature(
    report_bytes: bytes, signature_text: str, verifiers: Sequence[VerifierKey]
) -> VerifierKey:
    """Return the trusted key that signed ``report_bytes``; raise CheckpointError otherwise.

    The text may hold several signature lines (e.g. across a key rotation); lines by keys
    not trusted are ignored, but a line that claims a trusted key and fails rejects the
    whole signature, as for signed notes.
    """
    if not isinstance(signature_text, str) or not signature_text.strip():
        raise CheckpointError("report signature is empty")
    known = {(v.name, v.key_id): v for v in verifiers}
    lines = signature_text.rstrip("\n").split("\n")
    signer: VerifierKey | None = None
    strangers: list[str] = []
    for number, line in enumerate(lines, start=1):
        name, sep, sig64 = line.partition(" ")
        if not sep or not name or not sig64 or " " in sig64:
            raise CheckpointError(
                f"report signature line {number} is malformed: expected '<key name> <base64>'"
            )
        raw = b64.decode(sig64, f"report signature line {number}")
        if len(raw) != 4 + 64:
            raise CheckpointError(
                f"report signature line {number} must hold a 4-byte key id and a 64-byte "
                f"Ed25519 signature, got {len(raw)} bytes"
            )
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            strangers.append(f"{name}+{raw[:4].hex()}")
            continue
        try:
            verifier.verify(report_bytes, raw[4:])
        except CheckpointError:
            raise CheckpointError(
                f"report signature by {name}+{raw[:4].hex()} does not verify: the report "
                "was changed after it was signed"
            ) from None
        signer = signer or verifier
    if signer is None:
        trusted = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers) or "(none)"
        by = f"signed by key {', '.join(strangers)}, " if strangers else ""
        raise CheckpointError(f"report is {by}not by the trusted key {trusted}")
    return signer
