"""Printing: rich for people, JSON for scripts (every command takes ``--json``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from cli.errors import CliError, ExitCode
from custody.errors import CustodyError, StorageError, VerificationError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

P = ParamSpec("P")
R = TypeVar("R")


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def boundary(func: Callable[P, R]) -> Callable[P, R]:
    """The CLI's one error boundary: print the error, exit with the DESIGN §5 code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CliError as e:
            err.print("[red]error:[/red] " + escape(e.message))
            raise typer.Exit(int(e.code)) from None
        except VerificationError as e:
            err.print("[red]FAIL:[/red] " + escape(e.diagnostics()))
            raise typer.Exit(int(ExitCode.INTEGRITY)) from None
        except StorageError as e:
            err.print("[red]error:[/red] " + escape(e.diagnostics()))
            raise typer.Exit(int(ExitCode.UNAVAILABLE)) from None
        except CustodyError as e:
            err.print("[red]error:[/red] " + escape(e.diagnostics()))
            raise typer.Exit(int(ExitCode.USAGE)) from None
        except OSError as e:
            err.print("[red]error:[/red] " + escape(str(e)))
            raise typer.Exit(int(ExitCode.USAGE)) from None

    return wrapper
