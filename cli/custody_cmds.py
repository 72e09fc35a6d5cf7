"""``custody transfer|dispose|hold``: custody changes, each a ledger entry."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, out

transfer_app = typer.Typer(help="Two-step custody transfers.", no_args_is_help=True)
dispose_app = typer.Typer(
    help="Disposal (销毁): request, then a second person approves.", no_args_is_help=True
)


def _state_line(ev: dict[str, Any]) -> str:
    s = ev["state"]
    pending = s["pending_transfer"]
    extra = f", pending transfer to {pending['to_account']}" if pending else ""
    return (
        f"{ev['id']}: custodian {s['custodian']}, status {s['status']}, "
        f"legal hold {'on' if s['legal_hold'] else 'off'}{extra}"
    )


def _show(ev: dict[str, Any], json_output: bool) -> None:
    if json_output:
        emit_json(ev)
    else:
        out.print(_state_line(ev), markup=False)


@transfer_app.command("start")
def start(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    to: Annotated[str, typer.Option(help="Receiving account.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    json_output: JsonOpt = False,
) -> None:
    """Start a handover; custody stays with you until the recipient accepts."""
    with ApiClient() as api:
        ev = api.post(
            f"/api/v1/evidence/{evidence_id}/transfers", json={"to": to, "reason": reason}
        ).json()
    _show(ev, json_output)


@transfer_app.command("accept")
def accept(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")], json_output: JsonOpt = False
) -> None:
    """Accept a transfer addressed to you."""
    with ApiClient() as api:
        ev = api.post(f"/api/v1/evidence/{evidence_id}/transfers/accept").json()
    _show(ev, json_output)


@transfer_app.command("list")
def pending(json_output: JsonOpt = False) -> None:
    """Pending transfers with their age."""
    with ApiClient() as api:
        rows = api.get("/api/v1/transfers").json()
    if json_output:
        emit_json(rows)
        return
    table = Table("evidence", "case", "from", "to", "reason", "age")
    for t in rows:
        hours = t["age_seconds"] / 3600
        table.add_row(
            t["evidence"],
            t["case"],
            t["from_account"],
            t["to_account"],
            t["reason"],
            f"{hours:.1f} h",
        )
    out.print(table)


@dispose_app.command("request")
def dispose_request(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    reason: Annotated[str, typer.Option(help="Why (registered).")],
    json_output: JsonOpt = False,
) -> None:
    """Register a disposal request."""
    with ApiClient() as api:
        ev = api.post(f"/api/v1/evidence/{evidence_id}/disposal", json={"reason": reason}).json()
    _show(ev, json_output)


@dispose_app.command("approve")
def dispose_approve(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    reason: Annotated[str, typer.Option(help="Approval note.")],
    json_output: JsonOpt = False,
) -> None:
    """Approve (as a second person): the content is removed, the record stays."""
    with ApiClient() as api:
        ev = api.post(
            f"/api/v1/evidence/{evidence_id}/disposal/approve", json={"reason": reason}
        ).json()
    _show(ev, json_output)


@dispose_app.command("complete")
def dispose_complete(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    json_output: JsonOpt = False,
) -> None:
    """Retry an approved disposal whose deletion failed (e.g. storage was down)."""
    with ApiClient() as api:
        ev = api.post(f"/api/v1/evidence/{evidence_id}/disposal/complete").json()
    _show(ev, json_output)


def hold(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    off: Annotated[
        bool, typer.Option("--off", help="Clear the hold instead of setting it.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Set (or with --off clear) a legal hold."""
    with ApiClient() as api:
        ev = api.post(
            f"/api/v1/evidence/{evidence_id}/legal-hold", json={"on": not off, "reason": reason}
        ).json()
    _show(ev, json_output)


def retain(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    until: Annotated[str, typer.Option(help="New retain-until date, ISO 8601.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    json_output: JsonOpt = False,
) -> None:
    """Extend the storage retention (it can never be shortened)."""
    with ApiClient() as api:
        ev = api.post(
            f"/api/v1/evidence/{evidence_id}/retention", json={"until": until, "reason": reason}
        ).json()
    if json_output:
        emit_json(ev)
    else:
        out.print(f"{ev['id']}: retained until {ev['state']['retention_until']}", markup=False)
