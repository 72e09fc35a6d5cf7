"""Ledger entries as a person reads them: timeline rows, the grants, the borrowing register.

All of it is read from the hash-chained entries themselves (the ledger is the record),
so the case page shows what a bundle of the case would prove.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.ledger import Action, parse_rfc3339
from custody.models import LedgerEntry

SUMMARY_KEYS = (
    "filename",
    "seal_no",
    "title",
    "classification",
    "what",
    "purpose",
    "result",
    "reason",
    "attempted",
    "to",
    "from",
    "account",
    "permissions",
    "count",
    "size",
)
LONGEST = 300
BORROWING = (Action.DOWNLOAD, Action.EXPORT)


@dataclass(frozen=True, kw_only=True)
class Row:
    seq: int
    time: str
    actor: str
    department: str
    action: str
    evidence: str | None
    hash: str
    summary: list[tuple[str, str]]
    value: dict[str, Any] = field(repr=False)


def _text(value: object) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= LONGEST else text[:LONGEST] + "…"


def row_of(entry: LedgerEntry) -> Row:
    return row_from(seq=entry.seq, entry_hash=entry.entry_hash, canonical=entry.canonical)


def row_from(*, seq: int, entry_hash: str, canonical: bytes) -> Row:
    value: dict[str, Any] = json.loads(canonical)
    details = value.get("details") or {}
    summary = [
        (k, _text(details[k])) for k in SUMMARY_KEYS if details.get(k) not in (None, "", [], {})
    ]
    return Row(
        seq=seq,
        time=str(value.get("time", "")),
        actor=str(value.get("actor", "")),
        department=str(value.get("department", "")),
        action=str(value.get("action", "")),
        evidence=value.get("evidence"),
        hash=entry_hash,
        summary=summary,
        value=value,
    )


def rows(entries: Iterable[LedgerEntry]) -> list[Row]:
    return [row_of(e) for e in entries]


@dataclass(kw_only=True)
class GrantRow:
    grant_id: str
    account: str
    department: str
    permissions: list[str]
    granted_by: str
    time: str
    expires_at: str | None
    state: str = "live"  # live | expired | revoked


def grants(timeline: Sequence[Row], now: datetime) -> list[GrantRow]:
    """The case's grants as its ``grant.created`` / ``grant.revoked`` entries record them."""
    found: dict[str, GrantRow] = {}
    for row in timeline:
        details = row.value.get("details") or {}
        if row.action == Action.GRANT_CREATED:
            grant = GrantRow(
                grant_id=str(details.get("grant_id")),
                account=str(details.get("account", "")),
                department=str(details.get("account_department", "")),
                permissions=sorted({"view", *map(str, details.get("permissions") or [])}),
                granted_by=row.actor,
                time=row.time,
                expires_at=details.get("expires_at"),
            )
            if grant.expires_at and parse_rfc3339(grant.expires_at) <= now:
                grant.state = "expired"
            found[grant.grant_id] = grant
        elif row.action == Action.GRANT_REVOKED and str(details.get("grant_id")) in found:
            found[str(details.get("grant_id"))].state = "revoked"
    return list(found.values())


@dataclass(frozen=True, kw_only=True)
class Borrowing:
    time: str
    actor: str
    department: str
    action: str
    evidence: str | None
    purpose: str


def borrowings(timeline: Sequence[Row]) -> list[Borrowing]:
    """借阅登记: every download and export of the case, with who, when and the stated purpose."""
    return [
        Borrowing(
            time=row.time,
            actor=row.actor,
            department=row.department,
            action=row.action,
            evidence=row.evidence,
            purpose=str((row.value.get("details") or {}).get("purpose") or "—"),
        )
        for row in timeline
        if row.action in BORROWING
    ]
