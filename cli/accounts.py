"""``custody account|grant``: accounts, enrolment, tokens and case grants.

An administrator creates an account and gets a one-time enrolment code, never a token; the
account's holder exchanges the code (``custody account enrol``) for the token.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, out

account_app = typer.Typer(help="Accounts, enrolment and API tokens.", no_args_is_help=True)
grant_app = typer.Typer(help="Case grants (administrators).", no_args_is_help=True)


def _print_token(issued: dict[str, Any], token_only: bool, json_output: bool) -> None:
    if json_output:
        emit_json(issued)
    elif token_only:
        print(issued["token"])
    else:
        out.print(f"token for {issued['account']['name']}: {issued['token']}", markup=False)
        out.print("It is shown once; store it safely (it is kept only as a hash).")


def _print_code(issued: dict[str, Any], code_only: bool, json_output: bool) -> None:
    if json_output:
        emit_json(issued)
        return
    if code_only:
        print(issued["code"])
        return
    name = issued["account"]["name"]
    out.print(f"enrolment code for {name}: {issued['code']}", markup=False)
    out.print(
        f"Valid until {issued['expires_at']}, once. Hand it to {name}, who runs "
        f"'custody account enrol {name} CODE' to get the account's token.",
        markup=False,
    )
    if issued.get("replaces_tokens"):
        out.print(f"Enrolling with it revokes the tokens {name} holds now.", markup=False)


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
    enrolment_hours: Annotated[
        int, typer.Option(help="How long the enrolment code stays valid.")
    ] = 72,
    code_only: Annotated[
        bool, typer.Option("--print-code", help="Print only the enrolment code (for scripts).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Create an account; its one-time enrolment code is printed once (not a token)."""
    with ApiClient() as api:
        issued = api.post(
            "/api/v1/accounts",
            json={
                "name": name,
                "display_name": display_name or name,
                "role": role,
                "department": department,
                "clearance": clearance,
                "enrolment_hours": enrolment_hours,
            },
        ).json()
    _print_code(issued, code_only, json_output)


@account_app.command("enrolment")
def enrolment(
    name: Annotated[str, typer.Argument(help="Account name.")],
    hours: Annotated[int, typer.Option(help="How long the code stays valid.")] = 72,
    code_only: Annotated[bool, typer.Option("--print-code")] = False,
    json_output: JsonOpt = False,
) -> None:
    """A new enrolment code for an account that lost its token (administrators).

    Earlier unused codes are withdrawn; enrolling with the new one revokes the account's
    current tokens.
    """
    with ApiClient() as api:
        issued = api.post(f"/api/v1/accounts/{name}/enrolment", json={"hours": hours}).json()
    _print_code(issued, code_only, json_output)


@account_app.command("enrol")
def enrol(
    name: Annotated[str, typer.Argument(help="Your account name.")],
    code: Annotated[
        str, typer.Argument(help="The enrolment code from the administrator; '-' reads stdin.")
    ],
    expires_days: Annotated[int | None, typer.Option(help="Token lifetime in days.")] = None,
    token_only: Annotated[
        bool, typer.Option("--print-token", help="Print only the token (for scripts).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Exchange your enrolment code for your account's API token (needs no CUSTODY_TOKEN)."""
    if code == "-":
        code = sys.stdin.readline().strip()
    with ApiClient(token="") as api:
        issued = api.post(
            "/api/v1/enrolment",
            json={"account": name, "code": code, "expires_days": expires_days},
        ).json()
    _print_token(issued, token_only, json_output)


@account_app.command("token")
def token(
    expires_days: Annotated[int | None, typer.Option(help="Token lifetime in days.")] = None,
    token_only: Annotated[bool, typer.Option("--print-token")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Issue another token for your own account (CUSTODY_TOKEN names the account)."""
    with ApiClient() as api:
        issued = api.post("/api/v1/accounts/me/tokens", json={"expires_days": expires_days}).json()
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
