"""Printing: rich for people, JSON for scripts (every command takes ``--json``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from cli.errors import CliError, ExitCode
from custody.errors import CustodyError
from custody.verdicts import Line, error_message, exit_code_for

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

P = ParamSpec("P")
R = TypeVar("R")


STATUS_STYLE = {"OK": "green", "FAIL": "bold red", "SKIPPED": "yellow", "": ""}


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def print_lines(lines: Iterable[Line]) -> None:
    """The shared verdict lines (:mod:`custody.verdicts`), coloured by status."""
    for line in lines:
        out.print(line.render(), style=STATUS_STYLE[line.status], markup=False, highlight=False)


def boundary(func: Callable[P, R]) -> Callable[P, R]:
    """The CLI's one error boundary: print the error, exit with the DESIGN §5 code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CliError as e:
            err.print("[red]error:[/red] " + escape(e.message))
            raise typer.Exit(int(e.code)) from None
        except (CustodyError, OSError) as e:
            code = exit_code_for(e)
            label = "FAIL:" if code == ExitCode.INTEGRITY else "error:"
            err.print(f"[red]{label}[/red] " + escape(error_message(e)))
            raise typer.Exit(int(code)) from None

    return wrapper
