"""The secrecy period (保密期限) and the mark 「密级★期限」 every carrier bears.

The mark stands at the top left of the first page of every report, register and bundle
README of a classified case: ``机密★10年`` for a period in years, ``秘密★2030年6月30日`` for
an end date. The period runs from the day the classification was decided. The legal maxima
(保守国家秘密法: 绝密 30 years, 机密 20, 秘密 10, unless otherwise provided) are enforced,
so a period that needs a special provision is proposed as an end date with its basis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from custody.errors import InputError
from custody.policy import Level

__all__ = ["MAX_YEARS", "SecrecyPeriod", "mark", "parse_period"]

MAX_YEARS: dict[Level, int] = {Level.TOP_SECRET: 30, Level.CONFIDENTIAL: 20, Level.SECRET: 10}
"""The longest period in years each level may be given without a special provision."""

LEVEL_ZH: dict[Level, str] = {
    Level.PUBLIC: "公开",
    Level.INTERNAL: "内部",
    Level.SECRET: "秘密",
    Level.CONFIDENTIAL: "机密",
    Level.TOP_SECRET: "绝密",
}

_YEARS = re.compile(r"^\s*(\d{1,3})\s*(?:y|years?|年)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class SecrecyPeriod:
    """A number of years, or an end date: exactly one."""

    years: int | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if (self.years is None) == (self.until is None):
            raise InputError("a secrecy period is a number of years or an end date, not both")
        if self.years is not None and self.years < 1:
            raise InputError(f"a secrecy period of {self.years} years is not a period; give ≥ 1")

    def text(self) -> str:
        """The period as the mark prints it: ``10年`` or ``2030年6月30日``."""
        if self.years is not None:
            return f"{self.years}年"
        assert self.until is not None
        return f"{self.until.year}年{self.until.month}月{self.until.day}日"

    def ends(self, since: datetime) -> datetime:
        """When the period ends, counted from ``since`` (the decision)."""
        if self.until is not None:
            return datetime.combine(self.until, time(0), tzinfo=UTC)
        assert self.years is not None
        try:
            return since.replace(year=since.year + self.years)
        except ValueError:  # 29 February
            return since.replace(year=since.year + self.years, day=28)

    def check_for(self, level: Level, since: datetime) -> None:
        """Refuse a period above the level's legal maximum, or one already over."""
        limit = MAX_YEARS.get(level)
        if limit is None:
            raise InputError(f"level {level.value} is not classified: it takes no secrecy period")
        if self.years is not None and self.years > limit:
            raise InputError(
                f"{LEVEL_ZH[level]} may be given at most {limit} years (保密法); a longer "
                "period needs a special provision: give an end date and name it in the basis"
            )
        if self.ends(since) <= since:
            raise InputError("the secrecy period's end date is already past; give a future date")

    def to_json(self) -> dict[str, Any]:
        if self.years is not None:
            return {"years": self.years}
        assert self.until is not None
        return {"until": self.until.isoformat()}

    @classmethod
    def from_json(cls, value: Any) -> SecrecyPeriod:
        if not isinstance(value, dict):
            raise InputError("a secrecy period is an object with 'years' or 'until'")
        if "years" in value:
            return cls(years=int(value["years"]))
        return cls(until=date.fromisoformat(str(value.get("until"))))


def parse_period(text: str) -> SecrecyPeriod:
    """Read a period from a user: ``10``, ``10y``, ``10年`` or an ISO date ``2030-06-30``."""
    found = _YEARS.match(text)
    if found:
        return SecrecyPeriod(years=int(found.group(1)))
    try:
        return SecrecyPeriod(until=date.fromisoformat(text.strip()))
    except ValueError:
        raise InputError(
            f"secrecy period {text!r} is neither a number of years (10, 10年) nor a date "
            "(2030-06-30)"
        ) from None


def mark(level: Level, period: SecrecyPeriod | None) -> str | None:
    """「密级★期限」 for a classified level; None for an unclassified one.

    Without a period (a record that lacks one) the level alone is printed, as the rules
    require until a period is fixed.
    """
    if not level.classified:
        return None
    zh = LEVEL_ZH[level]
    return f"{zh}★{period.text()}" if period is not None else zh
