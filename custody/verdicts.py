"""What an offline check says: the lines and JSON both CLIs print, and the exit code.

``custody`` (Typer, with colour) and ``custody-verify`` (argparse, plain text) render these
same values, so a court and the lab read the same words and get the same exit code.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any

from custody.errors import (
    AuthenticationRequired,
    Conflict,
    CustodyError,
    DigestMismatch,
    InputError,
    NotFound,
    ObjectMissing,
    PermissionDenied,
    RetentionActive,
    ServerError,
    StorageError,
    VerificationError,
)

if TYPE_CHECKING:  # values only read here; importing them would load blake3 and cryptography
    from custody.bundle import BundleReport
    from custody.checkpoint import VerifierKey
    from custody.hashing import HashedFile
    from custody.offline import Consistency, SignedReport, SplitViewResult


class ExitCode(IntEnum):
    """DESIGN §5: the same numbers for every command of both CLIs."""

    OK = 0
    INTEGRITY = 1  # verification failed or an integrity problem was found
    USAGE = 2  # usage or input error
    UNAVAILABLE = 3  # server or storage unavailable
    PERMISSION = 4  # permission denied


@dataclass(frozen=True, kw_only=True)
class Line:
    """One printed line: ``OK:``/``FAIL:``/``SKIPPED:`` and a text; no status for plain text."""

    status: str
    text: str
    indent: int = 0

    def render(self) -> str:
        head = f"{self.status}: " if self.status else ""
        return "  " * self.indent + head + self.text


# --- errors ------------------------------------------------------------------------------


EXIT_CODES: tuple[tuple[type[BaseException] | UnionType, ExitCode], ...] = (
    (VerificationError, ExitCode.INTEGRITY),
    (DigestMismatch, ExitCode.INTEGRITY),  # the content is not what the imager hashed
    (ObjectMissing, ExitCode.INTEGRITY),  # stored evidence is gone
    (RetentionActive, ExitCode.USAGE),  # a refusal of the request, not an outage
    (StorageError, ExitCode.UNAVAILABLE),
    (ServerError, ExitCode.UNAVAILABLE),
    (PermissionDenied, ExitCode.PERMISSION),
    (AuthenticationRequired, ExitCode.PERMISSION),
    (PermissionError, ExitCode.PERMISSION),
    (InputError | NotFound | Conflict, ExitCode.USAGE),
    (CustodyError, ExitCode.UNAVAILABLE),  # unclassified: a fault, as the API's 500 says
)
"""The one mapping from error class to exit code, first match wins; anything else is 2.

Both CLIs use it, for local errors and for errors the server reports (which the ``custody``
client raises as the class their code names), so an error exits the same either way. It
follows the HTTP status the API gives each class (5xx: 3, 401/403: 4, other 4xx: 2), except
that an integrity problem found exits 1.
"""


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of an error that reached a CLI's boundary."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return ExitCode.USAGE


def error_code(error: BaseException) -> str:
    """A stable machine-readable name for the error, as in the problem JSON ``type``."""
    if isinstance(error, CustodyError):
        return error.reported_code or error.code
    if isinstance(error, PermissionError):
        return "permission-denied"
    if isinstance(error, FileNotFoundError):
        return "file-not-found"
    if isinstance(error, OSError):
        return "file-error"
    return "usage"


def error_message(error: BaseException) -> str:
    if isinstance(error, CustodyError):
        return error.diagnostics()
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return str(error)


def error_json(error: BaseException) -> dict[str, Any]:
    """``{"ok": false, "error", "code", "exit_code"}``: what ``--json`` prints for an error."""
    return {
        "ok": False,
        "error": error_message(error),
        "code": error_code(error),
        "exit_code": int(exit_code_for(error)),
    }


# --- verify-bundle ---------------------------------------------------------------------


def bundle_lines(report: BundleReport, key: VerifierKey) -> list[Line]:
    """One line per check, then the summary (skipped items are said to be unchecked)."""
    lines = [
        Line(status=c.status, text=f"{c.item}: {c.message.removeprefix(f'{c.item}: ')}")
        for c in report.checks
    ]
    failed, skipped = len(report.failures), len(report.skipped)
    summary = (
        f"{len(report.checks)} checks against the trusted key {key.name}+{key.key_id.hex()}: "
        f"{failed} failed, {skipped} skipped"
    )
    if report.ok:
        note = " (skipped items were NOT checked)" if skipped else ""
        lines.append(Line(status="OK", text=f"bundle verified — {summary}{note}"))
    else:
        lines.append(Line(status="FAIL", text=f"bundle does NOT verify — {summary}"))
    return lines


def bundle_json(bundle: Path, report: BundleReport, key: VerifierKey) -> dict[str, Any]:
    return {"bundle": str(bundle), "trusted_key": key.to_text(), **report.to_json()}


def bundle_exit_code(report: BundleReport) -> ExitCode:
    return ExitCode.OK if report.ok else ExitCode.INTEGRITY


# --- hash --------------------------------------------------------------------------------


def hash_lines(results: Sequence[HashedFile]) -> list[Line]:
    """``ALGO  HEX  FILE``, the layout of the usual ``*sum`` tools, one per algorithm."""
    return [
        Line(status="", text=f"{algo.upper()}  {r.digests[algo]}  {r.path}")
        for r in results
        for algo in r.algorithms
    ]


def hash_json(results: Sequence[HashedFile]) -> list[dict[str, Any]]:
    return [r.to_json() for r in results]


# --- ledger consistency ----------------------------------------------------------------


def consistency_lines(result: Consistency) -> list[Line]:
    return [
        Line(
            status="OK",
            text=f"the ledger at size {result.new.size} extends the one at size {result.old.size}",
        )
    ]


def consistency_json(result: Consistency) -> dict[str, Any]:
    return {
        "ok": True,
        "origin": result.new.origin,
        "first": result.old.size,
        "second": result.new.size,
        "first_root": base64.b64encode(result.old.root).decode(),
        "second_root": base64.b64encode(result.new.root).decode(),
        "trusted_key": result.key.to_text(),
    }


# --- split view ------------------------------------------------------------------------


def split_view_lines(result: SplitViewResult) -> list[Line]:
    """A proof of misbehaviour, or that the two checkpoints agree."""
    key = f"{result.key.name}+{result.key.key_id.hex()}"
    if not result.split:
        return [Line(status="OK", text=f"no split view: {result.reason} (key {key})")]
    lines = [
        Line(status="FAIL", text=f"split view — proof of misbehaviour: {result.reason}"),
        Line(status="", text=f"log {result.first.origin}, both signed by {key}:", indent=1),
    ]
    for number, cp in ((1, result.first), (2, result.second)):
        root = base64.b64encode(cp.root).decode()
        lines.append(Line(status="", text=f"note {number}: size {cp.size} root {root}", indent=1))
    lines.append(
        Line(
            status="",
            text="the two signed notes are the proof: anyone holding the log's key can check "
            "them; keep both",
            indent=1,
        )
    )
    return lines


def split_view_json(result: SplitViewResult) -> dict[str, Any]:
    return {
        "ok": not result.split,
        "split_view": result.split,
        "reason": result.reason,
        "origin": result.first.origin,
        "key": result.key.to_text(),
        "checkpoints": [
            {"size": cp.size, "root": base64.b64encode(cp.root).decode(), "note": note}
            for cp, note in ((result.first, result.notes[0]), (result.second, result.notes[1]))
        ],
    }


def split_view_exit_code(result: SplitViewResult) -> ExitCode:
    return ExitCode.INTEGRITY if result.split else ExitCode.OK


# --- a signed report -------------------------------------------------------------------


def report_lines(checked: SignedReport) -> list[Line]:
    """The signature, then what the report says: its result, digests, lock and ledger proofs."""
    r = checked.report
    signer = f"{checked.signer.name}+{checked.signer.key_id.hex()}"
    verdict = "passed" if r.passed else "FAILED"
    lines = [
        Line(status="OK", text=f"report signed by the trusted key {signer}"),
        Line(
            status="OK" if r.passed else "FAIL",
            text=f"{r.evidence_id} ({r.original_filename}) in case {r.case_number}: "
            f"verification of {r.generated_at} by {r.generated_by} {verdict}",
        ),
    ]
    lines.extend(
        Line(
            status="OK" if d.match else "FAIL",
            text=f"{d.algorithm} recorded {d.recorded} recomputed {d.recomputed}",
            indent=1,
        )
        for d in r.digests
    )
    lines.append(
        Line(
            status="OK" if r.size_recomputed == r.size_recorded else "FAIL",
            text=f"size recorded {r.size_recorded} recomputed {r.size_recomputed}",
            indent=1,
        )
    )
    hold = "on" if r.lock.legal_hold else "off"
    lines.append(
        Line(
            status="OK" if r.lock.ok else "FAIL",
            text=f"storage lock {r.lock.mode} until {r.lock.retain_until}, legal hold {hold}",
            indent=1,
        )
    )
    lines.append(
        Line(
            status="OK" if r.ledger.ok else "FAIL",
            text=f"{len(r.custody)} ledger entries proven against the checkpoint at size "
            f"{r.ledger.tree_size}",
            indent=1,
        )
    )
    lines.extend(Line(status="FAIL", text=f, indent=1) for f in r.findings)
    lines.append(Line(status="", text=f"report sha256 {checked.report_hash}", indent=1))
    return lines


def report_json(checked: SignedReport) -> dict[str, Any]:
    r = checked.report
    return {
        "ok": r.passed,
        "signed_by": checked.signer.to_text(),
        "report_hash": checked.report_hash,
        "evidence_id": r.evidence_id,
        "case_number": r.case_number,
        "result": r.result,
        "size_recorded": r.size_recorded,
        "size_recomputed": r.size_recomputed,
        "digests": [d.to_json() for d in r.digests],
        "findings": list(r.findings),
    }


def report_exit_code(checked: SignedReport) -> ExitCode:
    """A genuine report that records a failed verification is an integrity problem found."""
    return ExitCode.OK if checked.report.passed else ExitCode.INTEGRITY
