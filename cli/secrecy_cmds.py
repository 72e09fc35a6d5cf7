"""``custody classification|borrow|register|copy|destroy``: the classified-material procedures.

Each command is one step on the server, which decides and records it; the CLI only states
the step and shows what the ledger now says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, out

classification_app = typer.Typer(help="定密, 升密, 降密, 解密: proposals a leader decides.")
borrow_app = typer.Typer(help="借阅: borrowing a classified case with leaders' approval.")
copy_app = typer.Typer(help="复制: numbered copies (第 N 份).")
destroy_app = typer.Typer(help="销毁: destruction lists, a leader's approval, a witness.")

Reason = Annotated[str, typer.Option(help="Why (recorded on the ledger).")]


def _case(number: str) -> str:
    return f"/api/v1/cases/{quote(number, safe='')}"


def _show(value: Any, json_output: bool, line: str) -> None:
    if json_output:
        emit_json(value)
    else:
        out.print(line)


@classification_app.command("propose")
def propose(
    case: str,
    level: Annotated[str, typer.Option(help="secret/秘密, confidential/机密, top_secret/绝密…")],
    reason: Reason,
    period: Annotated[str | None, typer.Option(help="Years (10) or an end date.")] = None,
    basis: Annotated[str, typer.Option(help="定密依据.")] = "",
    json_output: JsonOpt = False,
) -> None:
    """Propose a new classification of a case of your department."""
    body = {"level": level, "period": period, "basis": basis, "reason": reason}
    with ApiClient() as api:
        r = api.post(f"{_case(case)}/classification/proposals", json=body).json()
    _show(r, json_output, f"proposed {r['kind']} to {r['level']}: proposal {r['id']}")


def _decide(case: str, proposal: str, decision: str, reason: str, json_output: bool) -> None:
    with ApiClient() as api:
        r = api.post(
            f"{_case(case)}/classification/proposals/{proposal}/{decision}",
            json={"reason": reason},
        ).json()
    _show(r, json_output, f"proposal {r['id']} ({r['kind']}) {r['status']}")


@classification_app.command("approve")
def approve_classification(
    case: str, proposal: str, reason: Reason, json_output: JsonOpt = False
) -> None:
    """Approve a proposal (a leader of the owning department; ``initial`` at creation)."""
    _decide(case, proposal, "approve", reason, json_output)


@classification_app.command("reject")
def reject_classification(
    case: str, proposal: str, reason: Reason, json_output: JsonOpt = False
) -> None:
    """Reject a proposal."""
    _decide(case, proposal, "reject", reason, json_output)


@borrow_app.command("request")
def request(
    case: str,
    purpose: Annotated[str, typer.Option(help="The work need (借阅事由).")],
    until: Annotated[str, typer.Option(help="End of the period (ISO 8601, with its zone).")],
    permission: Annotated[
        list[str], typer.Option("--permission", help="view, download, export (repeatable).")
    ],
    item: Annotated[
        list[str] | None, typer.Option("--item", help="Item id (repeatable); none: all items.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Start (default now).")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Fill in a borrowing slip (借阅单) for a classified case."""
    body: dict[str, Any] = {
        "items": item or None,
        "permissions": permission,
        "purpose": purpose,
        "ends_at": until,
    }
    if start:
        body["starts_at"] = start
    with ApiClient() as api:
        r = api.post(f"{_case(case)}/borrowings", json=body).json()
    needs = " and the owning department's leader" if r["needs_owner_approval"] else ""
    _show(
        r,
        json_output,
        f"borrowing {r['id']} requested; it needs your department's leader{needs} to approve",
    )


def _step(case: str, borrowing: str, step: str, reason: str, json_output: bool) -> None:
    with ApiClient() as api:
        r = api.post(f"{_case(case)}/borrowings/{borrowing}/{step}", json={"reason": reason})
    b = r.json()
    _show(b, json_output, f"borrowing {b['id']}: {b['status']}")


@borrow_app.command("approve")
def approve(case: str, borrowing: str, reason: Reason, json_output: JsonOpt = False) -> None:
    """Approve a borrowing (a leader of the borrower's or the owning department)."""
    _step(case, borrowing, "approve", reason, json_output)


@borrow_app.command("reject")
def reject(case: str, borrowing: str, reason: Reason, json_output: JsonOpt = False) -> None:
    """Reject a borrowing."""
    _step(case, borrowing, "reject", reason, json_output)


@borrow_app.command("return")
def return_(case: str, borrowing: str, reason: Reason, json_output: JsonOpt = False) -> None:
    """Return a borrowing: access ends now."""
    _step(case, borrowing, "return", reason, json_output)


@borrow_app.command("list")
def list_borrowings(
    status: Annotated[str, typer.Option(help="all, pending, active, overdue…")] = "all",
    json_output: JsonOpt = False,
) -> None:
    """Your borrowings (a leader: also its department's and its cases')."""
    with ApiClient() as api:
        rows = api.get("/api/v1/borrowings", params={"status": status}).json()
    if json_output:
        emit_json(rows)
        return
    for b in rows:
        out.print(f"{b['case']}  {b['id']}  {b['account']}  {b['status']}  until {b['ends_at']}")


def register_command(
    case: str,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or pdf.")] = "csv",
    output: Annotated[Path | None, typer.Option("-o", help="Write to this file.")] = None,
) -> None:
    """The case's borrowing register (借阅登记簿) with its numbered copies."""
    with ApiClient() as api:
        body = api.get(f"{_case(case)}/register", params={"format": fmt}).content
    if output is None:
        typer.echo(body.decode("utf-8-sig") if fmt != "pdf" else "(PDF: use -o FILE)")
    else:
        output.write_bytes(body)
        out.print(f"wrote {output}")


@copy_app.command("destroyed")
def copy_destroyed(case: str, number: int, reason: Reason, json_output: JsonOpt = False) -> None:
    """Record that numbered copy 第 N 份 was destroyed."""
    with ApiClient() as api:
        r = api.post(f"{_case(case)}/copies/{number}/destroyed", json={"reason": reason}).json()
    _show(r, json_output, f"copy 第 {number} 份 of {case} recorded as destroyed")


@destroy_app.command("propose")
def destroy_propose(
    case: str,
    item: Annotated[list[str], typer.Option("--item", help="Item id (repeatable).")],
    place: Annotated[str, typer.Option(help="The designated place (销毁地点).")],
    witness: Annotated[str, typer.Option(help="The supervising witness's account (监销人).")],
    reason: Reason,
    json_output: JsonOpt = False,
) -> None:
    """Draw up a destruction list (销毁清册)."""
    body = {"items": item, "place": place, "witness": witness, "reason": reason}
    with ApiClient() as api:
        r = api.post(f"{_case(case)}/destructions", json=body).json()
    _show(r, json_output, f"destruction list {r['id']} proposed; a leader must approve it")


def _destruction(
    case: str, list_id: str, step: str, body: dict[str, str], json_output: bool
) -> None:
    with ApiClient() as api:
        r = api.post(f"{_case(case)}/destructions/{list_id}/{step}", json=body).json()
    _show(r, json_output, f"destruction list {r['id']}: {r['status']}")


@destroy_app.command("approve")
def destroy_approve(case: str, list_id: str, reason: Reason, json_output: JsonOpt = False) -> None:
    """Approve a destruction list (a leader of the owning department)."""
    _destruction(case, list_id, "approve", {"reason": reason}, json_output)


@destroy_app.command("reject")
def destroy_reject(case: str, list_id: str, reason: Reason, json_output: JsonOpt = False) -> None:
    """Reject a destruction list: its items return to custody."""
    _destruction(case, list_id, "reject", {"reason": reason}, json_output)


@destroy_app.command("witness")
def destroy_witness(
    case: str,
    list_id: str,
    place: Annotated[str, typer.Option(help="Where it was destroyed.")],
    statement: Annotated[str, typer.Option(help="What the witness saw.")],
    json_output: JsonOpt = False,
) -> None:
    """Confirm, as the named witness, that the destruction took place; the content goes."""
    _destruction(case, list_id, "witness", {"place": place, "statement": statement}, json_output)
