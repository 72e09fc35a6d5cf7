"""Exit codes (DESIGN §5) and the one error the CLI's boundary prints."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    INTEGRITY = 1  # verification failed or an integrity problem was found
    USAGE = 2  # usage or input error
    UNAVAILABLE = 3  # server or storage unavailable


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode, *, problem: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.problem = problem
