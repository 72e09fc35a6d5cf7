"""The CLI's one error boundary, around the whole command tree instead of each command.

:class:`BoundaryGroup` is the root command of the ``custody`` app. Whatever a command
raises reaches its :meth:`~BoundaryGroup.invoke` and becomes the DESIGN §5 answer: with
``--json`` one JSON object on stdout (the shape ``custody-verify`` prints), otherwise a line
on stderr; then the exit code of :func:`custody.verdicts.exit_code_for`. A command reports
an error simply by raising it. Click's own usage errors keep Click's rendering, except under
``--json``, where they too are the JSON object.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from cli.output import JSON_REQUESTED, print_error
from custody.errors import CustodyError, InputError

ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
"""Click's base error, from the Click that Typer runs on (recent Typer vendors its own)."""

_ARGUMENTS = "custody.arguments"


class CommandLineError(Exception):
    """A command line Click refused, as the JSON error object names it (code ``usage``)."""


def _wants_json(ctx: Any) -> bool:
    """The command's own ``--json`` if it was parsed, else whether the line holds one."""
    meta = ctx.meta
    if JSON_REQUESTED in meta:
        return bool(meta[JSON_REQUESTED])
    return "--json" in meta.get(_ARGUMENTS, ())


class BoundaryGroup(TyperGroup):
    """The root group: runs one command and reports the error it raises, once."""

    # ``ctx`` is Typer's Click context; Any, because Typer's Click is vendored or not.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_ARGUMENTS] = tuple(args)  # shared by every context of this invocation
        try:
            return super().parse_args(ctx, args)
        except ClickException as e:
            if not _wants_json(ctx):
                raise
            raise typer.Exit(_command_line_error(e)) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # stdout went away: Click exits quietly
        except ClickException as e:  # a subcommand's command line
            if not _wants_json(ctx):
                raise
            code = _command_line_error(e)
        except (CustodyError, OSError) as e:
            code = print_error(e, as_json=_wants_json(ctx))
        except UnicodeDecodeError as e:
            error = InputError(f"a file is not UTF-8 text ({e})")
            code = print_error(error, as_json=_wants_json(ctx))
        raise typer.Exit(int(code))


def _command_line_error(error: Exception) -> int:
    message = error.format_message() if hasattr(error, "format_message") else str(error)
    return int(print_error(CommandLineError(message), as_json=True))
