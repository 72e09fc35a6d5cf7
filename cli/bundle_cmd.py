"""``custody verify-bundle``: check a court bundle offline against one trusted key.

Needs only the custody package: no server, no network. Prints ``OK:``/``FAIL:``/``SKIPPED:``
per item, then a summary; exits 1 if anything failed (DESIGN §5).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import CliError, ExitCode
from cli.ledger import load_key
from cli.output import JsonOpt, boundary, emit_json, out
from custody.bundle import Check, verify_bundle
from custody.errors import CheckpointError


def _line(check: Check) -> str:
    message = check.message.removeprefix(f"{check.item}: ")
    return f"{check.status}: {check.item}: {message}"


@boundary
def verify_bundle_command(
    bundle: Annotated[
        Path,
        typer.Argument(
            exists=True, file_okay=False, dir_okay=True, help="The bundle folder (a BagIt bag)."
        ),
    ],
    trusted_key: Annotated[
        str,
        typer.Option(
            "--trusted-key",
            help="The lab's verifier key (name+keyid+key), or a file holding it. Obtain it "
            "independently of the bundle: the bundle's own verifier-key.txt is not trusted.",
        ),
    ],
    content_dir: Annotated[
        Path | None,
        typer.Option(
            "--content-dir",
            exists=True,
            file_okay=False,
            dir_okay=True,
            help="Where your copies of the evidence are, when the bundle has no content; "
            "files are found by size and SHA-256.",
        ),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Verify a court bundle offline: bag, sums, checkpoint, entries, reports, content."""
    try:
        key = load_key(trusted_key)
    except CheckpointError as e:
        raise CliError(f"--trusted-key: {e.message}", ExitCode.USAGE) from None
    report = verify_bundle(bundle, trusted_key=key, content_dir=content_dir)
    if json_output:
        emit_json({"bundle": str(bundle), "trusted_key": key.to_text(), **report.to_json()})
    else:
        for check in report.checks:
            style = {"OK": "green", "FAIL": "bold red", "SKIPPED": "yellow"}[check.status]
            out.print(_line(check), style=style, markup=False, highlight=False)
        failed, skipped = len(report.failures), len(report.skipped)
        summary = (
            f"{len(report.checks)} checks against the trusted key {key.name}+{key.key_id.hex()}: "
            f"{failed} failed, {skipped} skipped"
        )
        if report.ok:
            note = " (skipped items were NOT checked)" if skipped else ""
            out.print(f"OK: bundle verified — {summary}{note}", markup=False)
        else:
            out.print(f"FAIL: bundle does NOT verify — {summary}", style="bold red", markup=False)
    if not report.ok:
        raise typer.Exit(int(ExitCode.INTEGRITY))
