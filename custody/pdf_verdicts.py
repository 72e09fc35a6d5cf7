"""What a check of a lone PDF report says: its lines, its JSON and its exit code.

Kept beside :mod:`custody.verdicts` (which speaks for the JSON report and bundles) so that
``custody-verify report report.pdf`` prints the same ``OK:``/``FAIL:`` words as the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from custody.case_report import CaseReport
from custody.report_pdf import CheckedPdf
from custody.verdicts import ExitCode, Line


def _subject(checked: CheckedPdf) -> list[Line]:
    r = checked.report
    if r is None:
        return []
    verdict = "passed" if r.passed else "FAILED"
    status = "OK" if r.passed else "FAIL"
    if isinstance(r, CaseReport):
        lines = [
            Line(
                status=status,
                text=f"case report of {r.case_number} ({len(r.items)} item(s)) of "
                f"{r.generated_at} by {r.generated_by}: {verdict}",
            )
        ]
        for item in r.items:
            v = item.verification
            result = "no verification (disposed)" if v is None else v.result
            lines.append(
                Line(
                    status="FAIL" if v is not None and not v.passed else "OK",
                    text=f"item {item.item} {item.evidence_id} ({item.status}): {result}",
                    indent=1,
                )
            )
            lines.extend(
                Line(status="", text=f"{algorithm} {digest}", indent=2)
                for algorithm, digest in sorted(item.digests.items())
            )
        return lines
    lines = [
        Line(
            status=status,
            text=f"{r.evidence_id} ({r.original_filename}) in case {r.case_number}: "
            f"verification of {r.generated_at} by {r.generated_by} {verdict}",
        )
    ]
    lines.extend(
        Line(
            status="OK" if d.match else "FAIL",
            text=f"{d.algorithm} recorded {d.recorded} recomputed {d.recomputed}",
            indent=1,
        )
        for d in r.digests
    )
    lines.extend(Line(status="FAIL", text=f, indent=1) for f in r.findings)
    return lines


def pdf_report_lines(checked: CheckedPdf) -> list[Line]:
    """One line per check (each failure named), then what the report records, then a verdict."""
    lines = [Line(status="OK" if c.ok else "FAIL", text=c.message) for c in checked.checks]
    if checked.ok:
        lines.extend(_subject(checked))
        lines.append(Line(status="", text=f"report sha256 {checked.report_hash}", indent=1))
    summary = (
        "PDF report verified"
        if checked.ok
        else f"PDF report does NOT verify — {sum(not c.ok for c in checked.checks)} check(s) failed"
    )
    lines.append(Line(status="OK" if checked.ok else "FAIL", text=summary))
    return lines


def pdf_report_json(path: Path, checked: CheckedPdf) -> dict[str, Any]:
    r = checked.report
    return {
        "ok": checked.passed,
        "file": str(path),
        "genuine": checked.ok,
        "kind": None if r is None else ("case" if isinstance(r, CaseReport) else "verification"),
        "report_hash": checked.report_hash,
        "signer_certificate_sha256": checked.signer.sha256 if checked.signer else None,
        "result": None if r is None else ("pass" if r.passed else "fail"),
        "findings": [] if r is None else list(r.findings),
        "checks": [c.to_json() for c in checked.checks],
    }


def pdf_report_exit_code(checked: CheckedPdf) -> ExitCode:
    """Exit 1 for a PDF that fails a check or that records a failed verification."""
    return ExitCode.OK if checked.passed else ExitCode.INTEGRITY
