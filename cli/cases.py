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
    secrecy_period: Annotated[
        str | None,
        typer.Option(help="保密期限 of a classified case: years (10) or an end date (2030-06-30)."),
    ] = None,
    secrecy_basis: Annotated[
        str | None, typer.Option(help="定密依据: the rule the classification rests on.")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Create a case in your department (a classified one awaits its leader's approval)."""
    body: dict[str, object] = {"number": number, "title": title, "classification": classification}
    if secrecy_period is not None:
        body["secrecy_period"] = secrecy_period
    if secrecy_basis is not None:
        body["secrecy_basis"] = secrecy_basis
    with ApiClient() as api:
        case = api.post("/api/v1/cases", json=body).json()
    if json_output:
        emit_json(case)
    else:
        mark = (case.get("secrecy") or {}).get("mark")
        out.print(
            f"created case {case['number']} ({case['classification']}, {case['department']})"
            + (f" {mark}, awaiting the leader's approval (定密审批)" if mark else "")
        )


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
