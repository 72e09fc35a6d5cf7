"""The values a court bundle is made of (inputs) and what verifying one finds (results)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custody.merkle import InclusionProof

BUNDLE_FORMAT = "evidence-custody court bundle"
BUNDLE_FORMAT_VERSION = 2  # 2: per-case chain (case_prev), export entry as the chain's head


@dataclass(frozen=True, kw_only=True)
class BundleEvidence:
    """One evidence item as exported: its facts (from its INTAKE entry) and its report."""

    id: str
    case: str
    file_name: str
    content_type: str
    category: str
    size: int
    digests: dict[str, str]
    declared_digests: dict[str, str] = field(default_factory=dict)
    seal_no: str | None
    description: str
    intake_time: str
    technician: str
    technician_department: str = ""
    storage: str = ""
    retention_mode: str | None = None
    retention_until: str | None = None
    report_json: bytes
    report_signature: str
    report_html: str
    report_pdf: bytes
    content_path: Path | None = None
    # forensic images (issue 14): the INTAKE entry's format, parts, media and lineage
    format: str = "file"
    parts: list[dict[str, Any]] = field(default_factory=list)
    image: dict[str, Any] | None = None
    derived_from: dict[str, str] | None = None
    # an image's stored parts, in order, when its content is bundled (one file per part)
    part_paths: tuple[Path, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BundleEntry:
    """A ledger entry, its inclusion proof, and the proof of leaf ``seq-1`` (its prev link)."""

    seq: int
    canonical: bytes
    proof: InclusionProof
    prev_proof: InclusionProof | None = None


@dataclass(frozen=True, kw_only=True)
class BundleInput:
    """Everything a bundle holds, gathered by the caller (the server's export).

    ``entries`` is the case's whole chain, from ``case.created`` to the EXPORT entry, which
    is the last leaf of the tree ``checkpoint_note`` signs.
    """

    case_number: str
    case_title: str
    case_classification: str
    exported_at: str
    exported_by: str
    exported_by_department: str
    purpose: str
    evidence: list[BundleEvidence]
    entries: list[BundleEntry]
    checkpoint_note: str
    verifier_key: str
    consistency: dict[str, Any] | None = None
    # the certificate that PAdES-signs the PDF reports (PEM, the signer first), and the
    # signed case report (one document for the whole case), when the server made them
    report_certificate_pem: str | None = None
    case_report: CaseReportFiles | None = None
    # a classified case: its 「密级★期限」 and this export's copy number (第 N 份), as the
    # EXPORT entry records it
    secrecy_mark: str | None = None
    copy_no: int | None = None

    # anchoring (issue 12): the witness keys the log submits to (their cosignatures are on
    # ``checkpoint_note``), RFC 3161 tokens over the note's body, and the key rotations
    # before the checkpoint, each with its inclusion proof
    witness_keys: list[str] = field(default_factory=list)
    timestamps: list[bytes] = field(default_factory=list)
    rotations: list[BundleEntry] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CaseReportFiles:
    """The case report as exported: its signed JSON, the ledger key's signature, renderings."""

    json: bytes
    signature: str
    pdf: bytes
    html: str


@dataclass(frozen=True, kw_only=True)
class Check:
    """One verified item: OK, FAIL, or SKIPPED (counts as ok, but nothing was checked)."""

    item: str
    ok: bool
    message: str
    skipped: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIPPED"
        return "OK" if self.ok else "FAIL"

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "status": self.status, "ok": self.ok, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class BundleReport:
    """Every check :func:`custody.bundle.verify_bundle` made, in order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and bool(self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def skipped(self) -> list[Check]:
        return [c for c in self.checks if c.skipped]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": len(self.checks),
            "failed": len(self.failures),
            "skipped": len(self.skipped),
            "checks": [c.to_json() for c in self.checks],
        }
