"""Printing: rich for people, JSON for scripts (every command takes ``--json``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from custody.errors import CustodyError
from custody.verdicts import ExitCode, Line, error_json, error_message, exit_code_for

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JSON_REQUESTED = "custody.json"
"""Key in the invocation's shared ``ctx.meta``: whether the command was given ``--json``."""


def _remember_json(ctx: typer.Context, value: bool) -> bool:
    """Tell the error boundary (cli.boundary) how the command wants its errors printed."""
    ctx.meta[JSON_REQUESTED] = value
    return value


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print machine-readable JSON (errors too).",
        callback=_remember_json,
        is_eager=True,  # known before any other parameter can fail
    ),
]


STATUS_STYLE = {"OK": "green", "FAIL": "bold red", "SKIPPED": "yellow", "": ""}


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def print_lines(lines: Iterable[Line]) -> None:
    """The shared verdict lines (:mod:`custody.verdicts`), coloured by status."""
    for line in lines:
        out.print(line.render(), style=STATUS_STYLE[line.status], markup=False, highlight=False)


def print_error(error: BaseException, *, as_json: bool) -> ExitCode:
    """One error, as the JSON object on stdout or a line on stderr; returns its exit code."""
    code = exit_code_for(error)
    if as_json:
        emit_json(error_json(error))
        return code
    label = "FAIL:" if code == ExitCode.INTEGRITY else "error:"
    message = error_message(error)
    if isinstance(error, CustodyError) and error.status is not None:
        message += f" [{error.status} {error.reported_code or error.code}]"
    err.print(f"[red]{label}[/red] " + escape(message))
    return code
