"""The ``custody`` Typer app: server commands, client commands over HTTP, offline checks.

It needs the ``[server]`` extra; :mod:`cli.main` is the entry point that says so when it is
missing. Errors are reported once, by the root group (:class:`cli.boundary.BoundaryGroup`):
commands just raise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import (
    accounts,
    cases,
    custody_cmds,
    evidence,
    export_cmd,
    ledger,
    secrecy_cmds,
    storage_cmd,
    verify_cmds,
    witness_cmd,
)
from cli.boundary import BoundaryGroup
from cli.bundle_cmd import verify_bundle_command
from cli.output import JsonOpt, emit_json, out, print_lines
from custody import verdicts
from custody.digests import SUPPORTED
from custody.hashing import hash_files

app = typer.Typer(
    cls=BoundaryGroup,
    name="custody",
    help="Evidence integrity and chain of custody: intake, verify, prove.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cases.app, name="case")
app.add_typer(evidence.evidence_app, name="evidence")
app.add_typer(ledger.app, name="ledger")
app.add_typer(accounts.account_app, name="account")
app.add_typer(accounts.grant_app, name="grant")
app.add_typer(custody_cmds.transfer_app, name="transfer")
app.add_typer(custody_cmds.dispose_app, name="dispose")
app.add_typer(secrecy_cmds.classification_app, name="classification")
app.add_typer(secrecy_cmds.borrow_app, name="borrow")
app.add_typer(secrecy_cmds.copy_app, name="copy")
app.add_typer(secrecy_cmds.destroy_app, name="destroy")
app.command("register")(secrecy_cmds.register_command)
app.add_typer(storage_cmd.app, name="storage")
app.add_typer(witness_cmd.app, name="witness")
app.command("hold")(custody_cmds.hold)
app.command("retain")(custody_cmds.retain)
app.command("verify")(verify_cmds.verify)
app.add_typer(verify_cmds.fixity_app, name="fixity")
app.command("export")(export_cmd.export)
app.command("verify-bundle")(verify_bundle_command)
evidence.register(app)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    json_output: JsonOpt = False,
) -> None:
    """Run the API server (configuration from CUSTODY_* variables)."""
    import uvicorn

    from api.app import create_app
    from api.context import build_context
    from api.settings import load_settings

    settings = load_settings()
    # Open the database, storage and key first: a store without Object Lock, an
    # unreachable MinIO or a bad key stops the start here with a clear message (exit 3).
    ctx = build_context(settings)
    if json_output:
        emit_json({"host": host, "port": port, "data_dir": str(settings.data_dir)})
    else:
        out.print(
            f"serving on http://{host}:{port} (storage {ctx.store.name}, data {settings.data_dir})",
            markup=False,
        )
    uvicorn.run(create_app(context=ctx), host=host, port=port, log_level="info")


@app.command()
def init(json_output: JsonOpt = False) -> None:
    """Create the database, signing key and administrator token without serving."""
    from api.context import build_context
    from api.settings import load_settings

    settings = load_settings()
    ctx = build_context(settings)
    ctx.engine.dispose()
    info = {
        "data_dir": str(settings.data_dir),
        "admin_token_file": str(settings.admin_token_path),
        "verifier_key": ctx.signing_key.verifier().to_text(),
    }
    if json_output:
        emit_json(info)
    else:
        for k, v in info.items():
            out.print(f"{k}: {v}")


@app.command("hash")
def hash_command(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    algorithms: Annotated[
        str,
        typer.Option(help=f"Comma-separated algorithms; default all: {','.join(SUPPORTED)}."),
    ] = ",".join(SUPPORTED),
    json_output: JsonOpt = False,
) -> None:
    """Hash files offline: every digest in one pass. Prints 'ALGO  HEX  FILE' lines."""
    results = hash_files(files, algorithms)
    if json_output:
        emit_json(verdicts.hash_json(results))
    else:
        print_lines(verdicts.hash_lines(results))
