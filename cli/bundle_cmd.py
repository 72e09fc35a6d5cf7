"""``custody verify-bundle``: check a court bundle offline against one trusted key.

Needs only the custody package: no server, no network. Prints ``OK:``/``FAIL:``/``SKIPPED:``
per item, then a summary; exits 1 if anything failed (DESIGN §5). The lines and the verdict
come from :mod:`custody.verdicts`, shared with ``custody-verify verify-bundle``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import JsonOpt, emit_json, print_lines
from custody import verdicts
from custody.bundle import verify_bundle
from custody.offline import (
    check_min_witnesses,
    load_trusted_key,
    load_tsa_trust,
    load_witness_keys,
)


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
    witness_key: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-key",
            help="A witness's cosignature/v1 key (name+keyid+key) or a file; repeat per witness.",
        ),
    ] = None,
    min_witnesses: Annotated[
        int | None,
        typer.Option(
            "--min-witnesses",
            help="How many of those witnesses must have cosigned (default 1 with --witness-key).",
        ),
    ] = None,
    tsa_cert: Annotated[
        list[Path] | None,
        typer.Option(
            "--tsa-cert", help="PEM: a TSA's certificate and its CA; the tokens must verify."
        ),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Verify a court bundle offline: bag, sums, checkpoint, entries, reports, content."""
    key = load_trusted_key(trusted_key)
    witnesses = load_witness_keys(witness_key or [])
    report = verify_bundle(
        bundle,
        trusted_key=key,
        content_dir=content_dir,
        witness_keys=witnesses,
        min_witnesses=check_min_witnesses(witnesses, min_witnesses),
        tsa_trust=load_tsa_trust(tsa_cert or []),
    )
    if json_output:
        emit_json(verdicts.bundle_json(bundle, report, key))
    else:
        print_lines(verdicts.bundle_lines(report, key))
    code = verdicts.bundle_exit_code(report)
    if code:
        raise typer.Exit(int(code))
