"""``custody storage orphans|sweep``: server-side housekeeping of the evidence store.

Like ``custody init`` these run on the server's machine, against the database and the
store configured by the ``CUSTODY_*`` variables (no token: whoever can read the data dir
and the database already sees all of this). They change nothing but what the service's
own sweep changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cli.output import JsonOpt, emit_json, out

app = typer.Typer(help="Evidence store housekeeping (run on the server).", no_args_is_help=True)

if TYPE_CHECKING:  # the server is imported only when a command runs
    from api.context import AppContext


@contextmanager
def _server_context() -> Iterator[AppContext]:
    from api.context import build_context
    from api.settings import load_settings

    ctx = build_context(load_settings())
    try:
        yield ctx
    finally:
        ctx.engine.dispose()


@app.command("orphans")
def orphans_command(json_output: JsonOpt = False) -> None:
    """List stored objects that no evidence record references (kept under retention).

    Each one is registered on the ledger (object.unreferenced) or in the register file;
    taking in the same content again references it and takes it off this list.
    """
    from api.services import orphans

    with _server_context() as ctx:
        found = [o.to_json() for o in orphans.list_orphans(ctx)]
    if json_output:
        emit_json(
            {
                "orphans": found,
                "count": len(found),
                "unregistered": sum(not o["registered"] for o in found),
            }
        )
        return
    if not found:
        out.print("no unreferenced objects")
        return
    table = Table("object key", "version", "size", "registered", "retained until", "reason")
    for o in found:
        table.add_row(
            str(o["object_key"]),
            str(o["object_version"] or "-"),
            str(o["size"] if o["size"] is not None else "?"),
            ", ".join(o["sources"]) if o["registered"] else "NO",
            str(o["retain_until"] or "-"),
            str(o["reason"] or "-"),
        )
    out.print(table)


@app.command("sweep")
def sweep_command(json_output: JsonOpt = False) -> None:
    """Sweep once now: staging leftovers older than CUSTODY_STAGING_MAX_AGE_SECONDS."""
    from api.services import sweep

    with _server_context() as ctx:
        report = sweep.sweep(ctx).to_json()
    if json_output:
        emit_json(report)
    else:
        for k, v in report.items():
            out.print(f"{k}: {v}")
