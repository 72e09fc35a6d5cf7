"""Checking an uploaded bundle with the court's own verifier, against a key the user gives.

It runs :func:`custody.bundle.verify_bundle` and words its result with
:mod:`custody.verdicts`, as ``custody-verify verify-bundle`` does; the trusted key is only
ever the text the user pasted (never the bundle's own key, never a path on the server).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from api.web.services import safe_zip
from custody import verdicts
from custody.bundle import Check, verify_bundle
from custody.checkpoint import VerifierKey
from custody.errors import CheckpointError, InputError

MAX_ZIP_BYTES = 2 * 1024**3
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_MEMBERS = 20_000


@dataclass(frozen=True, kw_only=True)
class CheckedBundle:
    ok: bool
    checks: list[Check]
    lines: list[str]
    key: str
    total: int
    failed: int
    skipped: int


def trusted_key(text: str) -> VerifierKey:
    """The pasted key text (``name+keyid+base64``); a malformed one is an input error."""
    if not text.strip():
        raise InputError("paste the lab's verifier key (name+keyid+base64) that you trust")
    try:
        return VerifierKey.from_text(text.strip())
    except CheckpointError as e:
        raise InputError(f"the trusted key is malformed: {e.message}") from None


def check_zip(source: BinaryIO, key_text: str, work: Path) -> CheckedBundle:
    """Unpack safely into ``work`` (which the caller removes), then verify every item."""
    key = trusted_key(key_text)
    folder = safe_zip.extract(
        source, work / "bundle", max_bytes=MAX_UNPACKED_BYTES, max_members=MAX_MEMBERS
    )
    report = verify_bundle(safe_zip.bag_root(folder), trusted_key=key)
    return CheckedBundle(
        ok=report.ok,
        checks=list(report.checks),
        lines=[line.render() for line in verdicts.bundle_lines(report, key)],
        key=f"{key.name}+{key.key_id.hex()}",
        total=len(report.checks),
        failed=len(report.failures),
        skipped=len(report.skipped),
    )
