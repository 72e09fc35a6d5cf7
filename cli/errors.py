"""Exit codes (DESIGN §5) and the one error the CLI's boundary prints."""

from __future__ import annotations

from typing import Any

from custody.verdicts import ExitCode  # one table of exit codes for custody and custody-verify

__all__ = ["CliError", "ExitCode"]


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode, *, problem: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.problem = problem
