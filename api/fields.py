"""Field types for request bodies: each kind of text refuses what it may never hold.

The rules live in custody.text (see there for why); here they become pydantic types whose
OpenAPI schema states the same rule as a pattern, so clients and fuzzers see it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictBool

from custody.text import line_problem, text_problem, verbatim_problem

LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
VERBATIM_PATTERN = r"^[^\u0000]*$"
CASE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$"
ACCOUNT_NAME_PATTERN = r"^[a-z0-9][a-z0-9._\-]{0,127}$"


def _validator(problem_of: Callable[[str], str | None], advice: str) -> AfterValidator:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(f"holds {problem}; {advice}")
        return value

    return AfterValidator(check)


_LINE = _validator(line_problem, "control characters (line breaks included) are not allowed")
_TEXT = _validator(text_problem, "TAB, LF and CR are the only control characters allowed")
_VERBATIM = _validator(verbatim_problem, "NUL cannot be stored")
_AS_LINE: dict[str, Any] = {"pattern": LINE_PATTERN}
_AS_TEXT: dict[str, Any] = {"pattern": TEXT_PATTERN}
_AS_VERBATIM: dict[str, Any] = {"pattern": VERBATIM_PATTERN}

# single-line values: names, titles, departments, seal numbers, enumerated words
Title = Annotated[str, Field(min_length=1, max_length=500, json_schema_extra=_AS_LINE), _LINE]
DisplayName = Annotated[str, Field(min_length=1, max_length=255, json_schema_extra=_AS_LINE), _LINE]
Department = Annotated[str, Field(min_length=1, max_length=128, json_schema_extra=_AS_LINE), _LINE]
SealNumber = Annotated[str, Field(max_length=128, json_schema_extra=_AS_LINE), _LINE]
Word = Annotated[str, Field(min_length=1, max_length=32, json_schema_extra=_AS_LINE), _LINE]
"""A role, level or permission name (checked against its list by custody.policy)."""

# free text that may span lines
Reason = Annotated[str, Field(min_length=1, max_length=2000, json_schema_extra=_AS_TEXT), _TEXT]
OptionalReason = Annotated[str, Field(max_length=2000, json_schema_extra=_AS_TEXT), _TEXT]
Description = Annotated[str, Field(max_length=10_000, json_schema_extra=_AS_TEXT), _TEXT]

# kept exactly as given, made safe where used (Content-Disposition, Content-Type)
Filename = Annotated[str, Field(max_length=4096, json_schema_extra=_AS_VERBATIM), _VERBATIM]
ContentType = Annotated[str, Field(max_length=255, json_schema_extra=_AS_VERBATIM), _VERBATIM]


def _pattern(pattern: str, message: str) -> AfterValidator:
    compiled = re.compile(pattern.rstrip("$") + r"\Z")

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


CaseNumber = Annotated[
    str,
    Field(json_schema_extra={"pattern": CASE_NUMBER_PATTERN}, examples=["2026-XS-0117"]),
    _pattern(
        CASE_NUMBER_PATTERN,
        "a case number is 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
]
AccountName = Annotated[
    str,
    Field(json_schema_extra={"pattern": ACCOUNT_NAME_PATTERN}, examples=["li.wei"]),
    _pattern(
        ACCOUNT_NAME_PATTERN,
        "an account name is 1-128 lower-case letters, digits, '.', '_' or '-', starting "
        "with a letter or digit",
    ),
]
EnrolmentCodeText = Annotated[
    str, Field(min_length=1, max_length=128, json_schema_extra=_AS_LINE), _LINE
]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_moment(value: datetime) -> datetime:
    """Aware and in UTC (a naive time is taken as UTC); refused if it cannot be expressed."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "the time falls outside the years 1970-9999 once converted to UTC"
        ) from None
    if value < EARLIEST:
        raise ValueError("the time is before 1970")
    return value


Moment = Annotated[datetime, AfterValidator(_utc_moment)]
"""A point in time, normalised to UTC: every timestamp we hash is spelled in UTC."""

Switch = StrictBool
"""A JSON true or false; 0, 1, "yes" and "on" are refused, not guessed."""
