"""``custody case create|list``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, out

app = typer.Typer(help="Cases.", no_args_is_help=True)


@app.command("create")
def create(
    number: Annotated[str, typer.Argument(help="Case number, e.g. 2026-XS-0117.")],
    title: Annotated[str, typer.Option(help="Case title.")],
    classification: Annotated[
        str, typer.Option(help="public, internal, secret, confidential or top_secret.")
    ] = "internal",
    json_output: JsonOpt = False,
) -> None:
    """Create a case in your department."""
    with ApiClient() as api:
        case = api.post(
            "/api/v1/cases",
            json={"number": number, "title": title, "classification": classification},
        ).json()
    if json_output:
        emit_json(case)
    else:
        out.print(f"created case {case['number']} ({case['classification']}, {case['department']})")


@app.command("list")
def list_cases(json_output: JsonOpt = False) -> None:
    """List the cases you may see."""
    with ApiClient() as api:
        cases = api.get("/api/v1/cases").json()
    if json_output:
        emit_json(cases)
        return
    table = Table("case", "title", "department", "classification", "evidence")
    for c in cases:
        table.add_row(
            c["number"], c["title"], c["department"], c["classification"], str(c["evidence_count"])
        )
    out.print(table)
