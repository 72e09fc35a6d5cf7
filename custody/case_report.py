"""The case report: one signed document for a whole case, with its data list (电子数据清单).

A court usually wants one document per case (法发〔2016〕22号 Art. 14: a data list with the
check values). Like an item's report it is a value whose signed form is its RFC 8785
canonical JSON, signed detached with the ledger key (:func:`custody.report.sign_report`),
and its PDF carries that JSON, its signature and a PAdES signature. ``kind`` tells the two
report shapes apart when only the JSON is at hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custody.canonical import canonical_json
from custody.errors import MalformedMetadata
from custody.report import (
    Result,
    _get,
    _int,
    _list,
    _obj,
    _opt_int,
    _opt_str,
    _str,
    _str_list,
)

CASE_REPORT_KIND = "case-report"
CASE_REPORT_VERSION = 1


def _digests(obj: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = _obj(_get(obj, key, where), f"{where}.{key}")
    out: dict[str, str] = {}
    for algorithm, digest in value.items():
        if not isinstance(digest, str):
            raise MalformedMetadata(f"{where}.{key}.{algorithm} must be a string")
        out[str(algorithm)] = digest
    return out


def _result(obj: Mapping[str, Any], key: str, where: str) -> Result:
    text = _str(obj, key, where)
    if text == "pass":
        return "pass"
    if text == "fail":
        return "fail"
    raise MalformedMetadata(f"{where}.{key} must be 'pass' or 'fail', got {text!r}")


@dataclass(frozen=True, kw_only=True)
class ItemVerification:
    """An item's last verification: when, its result, and the report that records it."""

    time: str
    result: Result
    report_sha256: str | None  # None when only the ledger's entry is known (disposed items)
    findings: list[str]

    @property
    def passed(self) -> bool:
        return self.result == "pass"

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "result": self.result,
            "report_sha256": self.report_sha256,
            "findings": list(self.findings),
        }

    @classmethod
    def from_json(cls, obj: object, where: str) -> ItemVerification:
        m = _obj(obj, where)
        return cls(
            time=_str(m, "time", where),
            result=_result(m, "result", where),
            report_sha256=_opt_str(m, "report_sha256", where),
            findings=_str_list(m, "findings", where),
        )


@dataclass(frozen=True, kw_only=True)
class CaseItem:
    """One row of the data list: the item's facts from its INTAKE entry, status, verification."""

    item: int
    evidence_id: str
    file_name: str
    content_type: str
    seal_no: str | None
    description: str
    size: int
    digests: dict[str, str]
    intake_time: str
    technician: str
    technician_department: str
    status: str
    verification: ItemVerification | None
    # forensic images and derived items (issue 14); absent for an opaque file, so the
    # reports of cases without images keep their form
    format: str = "file"
    parts: list[str] = field(default_factory=list)  # the stored files' names, in order
    media_digests: dict[str, str] = field(default_factory=dict)
    stored_digests: dict[str, str] = field(default_factory=dict)  # what the imager recorded
    derived_from: dict[str, str] | None = None  # {"evidence": parent id, "path": …}

    def _image_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.format != "file":
            out.update(
                format=self.format,
                parts=list(self.parts),
                media_digests=dict(self.media_digests),
                stored_digests=dict(self.stored_digests),
            )
        if self.derived_from is not None:
            out["derived_from"] = dict(self.derived_from)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "evidence_id": self.evidence_id,
            "file_name": self.file_name,
            "content_type": self.content_type,
            "seal_no": self.seal_no,
            "description": self.description,
            "size": self.size,
            "digests": dict(self.digests),
            "intake_time": self.intake_time,
            "technician": self.technician,
            "technician_department": self.technician_department,
            "status": self.status,
            "verification": self.verification.to_json() if self.verification else None,
            **self._image_json(),
        }

    @classmethod
    def from_json(cls, obj: object, where: str) -> CaseItem:
        m = _obj(obj, where)
        verification = _get(m, "verification", where)
        return cls(
            item=_int(m, "item", where),
            evidence_id=_str(m, "evidence_id", where),
            file_name=_str(m, "file_name", where),
            content_type=_str(m, "content_type", where),
            seal_no=_opt_str(m, "seal_no", where),
            description=_str(m, "description", where),
            size=_int(m, "size", where),
            digests=_digests(m, "digests", where),
            intake_time=_str(m, "intake_time", where),
            technician=_str(m, "technician", where),
            technician_department=_str(m, "technician_department", where),
            status=_str(m, "status", where),
            verification=(
                None
                if verification is None
                else ItemVerification.from_json(verification, f"{where}.verification")
            ),
            format=(_opt_str(m, "format", where) if "format" in m else None) or "file",
            parts=_str_list(m, "parts", where) if "parts" in m else [],
            media_digests=_digests(m, "media_digests", where) if "media_digests" in m else {},
            stored_digests=_digests(m, "stored_digests", where) if "stored_digests" in m else {},
            derived_from=(
                _digests(m, "derived_from", where) if m.get("derived_from") is not None else None
            ),
        )


@dataclass(frozen=True, kw_only=True)
class CaseReport:
    """Every item of a case with its status, check values and last verification."""

    kind: str = CASE_REPORT_KIND
    report_version: int = CASE_REPORT_VERSION
    generated_at: str
    generated_by: str
    generated_by_department: str
    generated_by_role: str
    case_number: str
    case_title: str
    case_classification: str
    case_department: str
    purpose: str | None
    items: list[CaseItem]
    pdf_certificate_sha256: str | None
    # a classified case's 「密级★期限」 and this copy's number (第 N 份); absent otherwise, so
    # the reports of unclassified cases keep their form
    secrecy_mark: str | None = None
    copy_no: int | None = None

    @property
    def passed(self) -> bool:
        """Every item still in custody verified; a disposed item has nothing left to check."""
        return all(i.verification is None or i.verification.passed for i in self.items)

    @property
    def findings(self) -> list[str]:
        return [
            f"{i.evidence_id}: {f}"
            for i in self.items
            if i.verification is not None
            for f in i.verification.findings
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "report_version": self.report_version,
            "generated_at": self.generated_at,
            "generated_by": self.generated_by,
            "generated_by_department": self.generated_by_department,
            "generated_by_role": self.generated_by_role,
            "case_number": self.case_number,
            "case_title": self.case_title,
            "case_classification": self.case_classification,
            "case_department": self.case_department,
            "purpose": self.purpose,
            "items": [i.to_json() for i in self.items],
            "pdf_certificate_sha256": self.pdf_certificate_sha256,
            **({"secrecy_mark": self.secrecy_mark} if self.secrecy_mark is not None else {}),
            **({"copy_no": self.copy_no} if self.copy_no is not None else {}),
        }

    @classmethod
    def from_json(cls, obj: object) -> CaseReport:
        where = "case report"
        m = _obj(obj, where)
        if _str(m, "kind", where) != CASE_REPORT_KIND:
            raise MalformedMetadata(f"{where}.kind must be {CASE_REPORT_KIND!r}")
        version = _int(m, "report_version", where)
        if version != CASE_REPORT_VERSION:
            raise MalformedMetadata(
                f"case report version {version} is not supported (this software reads "
                f"version {CASE_REPORT_VERSION})"
            )
        return cls(
            report_version=version,
            generated_at=_str(m, "generated_at", where),
            generated_by=_str(m, "generated_by", where),
            generated_by_department=_str(m, "generated_by_department", where),
            generated_by_role=_str(m, "generated_by_role", where),
            case_number=_str(m, "case_number", where),
            case_title=_str(m, "case_title", where),
            case_classification=_str(m, "case_classification", where),
            case_department=_str(m, "case_department", where),
            purpose=_opt_str(m, "purpose", where),
            items=[
                CaseItem.from_json(item, f"{where}.items[{i}]")
                for i, item in enumerate(_list(m, "items", where))
            ],
            pdf_certificate_sha256=_opt_str(m, "pdf_certificate_sha256", where),
            secrecy_mark=_opt_str(m, "secrecy_mark", where) if "secrecy_mark" in m else None,
            copy_no=_opt_int(m, "copy_no", where) if "copy_no" in m else None,
        )


def case_report_bytes(report: CaseReport) -> bytes:
    """The signed form: RFC 8785 canonical JSON (no newline, like an item's report)."""
    return canonical_json(report.to_json())


def case_report_hash(report: CaseReport) -> str:
    return hashlib.sha256(case_report_bytes(report)).hexdigest()


def is_case_report(data: bytes) -> bool:
    """Whether report bytes hold a case report (they carry ``"kind": "case-report"``)."""
    try:
        value: object = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(value, dict) and value.get("kind") == CASE_REPORT_KIND


def parse_case_report(data: bytes) -> CaseReport:
    try:
        value: object = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedMetadata(f"case report is not valid JSON: {e}") from e
    return CaseReport.from_json(value)
