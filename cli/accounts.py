"""``custody account|grant``: accounts, tokens and case grants (administrators)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, out

account_app = typer.Typer(help="Accounts and API tokens (administrators).", no_args_is_help=True)
grant_app = typer.Typer(help="Case grants (administrators).", no_args_is_help=True)


def _print_token(issued: dict[str, object], token_only: bool, json_output: bool) -> None:
    if json_output:
        emit_json(issued)
    elif token_only:
        print(issued["token"])
    else:
        out.print(f"token for {issued['account']['name']}: {issued['token']}", markup=False)  # type: ignore[index]
        out.print("It is shown once; store it safely (it is kept only as a hash).")


@account_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Login name, e.g. li.wei or court-haidian.")],
    role: Annotated[
        str,
        typer.Option(
            help="admin, technician, investigator, prosecutor, defense, judge or auditor."
        ),
    ],
    department: Annotated[str, typer.Option(help="Department (一部门一账号).")],
    clearance: Annotated[
        str, typer.Option(help="public, internal, secret, confidential or top_secret.")
    ] = "internal",
    display_name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    expires_days: Annotated[int | None, typer.Option(help="Token lifetime in days.")] = None,
    token_only: Annotated[
        bool, typer.Option("--print-token", help="Print only the token (for scripts).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Create an account; its first API token is printed once."""
    with ApiClient() as api:
        issued = api.post(
            "/api/v1/accounts",
            json={
                "name": name,
                "display_name": display_name or name,
                "role": role,
                "department": department,
                "clearance": clearance,
                "token_expires_days": expires_days,
            },
        ).json()
    _print_token(issued, token_only, json_output)


@account_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="Account name.")],
    expires_days: Annotated[int | None, typer.Option(help="Token lifetime in days.")] = None,
    token_only: Annotated[bool, typer.Option("--print-token")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Issue another token for an account."""
    with ApiClient() as api:
        issued = api.post(
            f"/api/v1/accounts/{name}/tokens", json={"expires_days": expires_days}
        ).json()
    _print_token(issued, token_only, json_output)


@account_app.command("list")
def list_accounts(json_output: JsonOpt = False) -> None:
    """List accounts."""
    with ApiClient() as api:
        accounts = api.get("/api/v1/accounts").json()
    if json_output:
        emit_json(accounts)
        return
    table = Table("name", "role", "department", "clearance", "active")
    for a in accounts:
        table.add_row(a["name"], a["role"], a["department"], a["clearance"], str(a["active"]))
    out.print(table)


@account_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="Account name.")], json_output: JsonOpt = False
) -> None:
    """Deactivate an account and revoke all its tokens."""
    with ApiClient() as api:
        account = api.post(f"/api/v1/accounts/{name}/revoke").json()
    if json_output:
        emit_json(account)
    else:
        out.print(f"revoked {account['name']}: account deactivated, tokens revoked", markup=False)


@grant_app.command("create")
def grant_create(
    case: Annotated[str, typer.Argument(help="Case number.")],
    account: Annotated[str, typer.Argument(help="Account to grant.")],
    permissions: Annotated[
        str, typer.Option(help="Comma-separated: view,verify,download,export.")
    ] = "view,verify",
    expires: Annotated[
        str | None, typer.Option(help="Expiry, ISO 8601 (e.g. 2027-06-30T00:00:00Z).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why the grant is made.")] = "",
    json_output: JsonOpt = False,
) -> None:
    """Grant an account access to one case."""
    with ApiClient() as api:
        grant = api.post(
            f"/api/v1/cases/{case}/grants",
            json={
                "account": account,
                "permissions": [p for p in permissions.split(",") if p],
                "expires_at": expires,
                "reason": reason,
            },
        ).json()
    if json_output:
        emit_json(grant)
    else:
        out.print(
            f"grant {grant['id']}: {account} on {case}: {','.join(grant['permissions'])}",
            markup=False,
        )


@grant_app.command("list")
def grant_list(
    case: Annotated[str, typer.Argument(help="Case number.")], json_output: JsonOpt = False
) -> None:
    """List the grants on a case."""
    with ApiClient() as api:
        grants = api.get(f"/api/v1/cases/{case}/grants").json()
    if json_output:
        emit_json(grants)
        return
    table = Table("id", "account", "permissions", "expires", "revoked")
    for g in grants:
        table.add_row(
            g["id"],
            g["account"],
            ",".join(g["permissions"]),
            str(g["expires_at"]),
            str(g["revoked_at"]),
        )
    out.print(table)


@grant_app.command("revoke")
def grant_revoke(
    grant_id: Annotated[str, typer.Argument(help="Grant id.")], json_output: JsonOpt = False
) -> None:
    """Revoke a grant."""
    with ApiClient() as api:
        grant = api.post(f"/api/v1/grants/{grant_id}/revoke").json()
    if json_output:
        emit_json(grant)
    else:
        out.print(f"revoked grant {grant['id']}", markup=False)
