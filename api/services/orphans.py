"""Unreferenced objects: stored (often locked) content that no evidence record references.

They arise when an intake stored and locked its object and then could not commit (the
database refused or was down, the disk filled, the process was killed). Retention locks
cannot be lifted, so such an object is never deleted; it is made known instead:

1. where the database still works, an ``object.unreferenced`` ledger entry records it;
2. where it does not, a line in the durable register file
   (``<data dir>/unreferenced-objects.jsonl``: append-only JSON lines, each fsynced);
3. the sweep (``api.services.sweep``) promotes register lines to ledger entries once the
   database works again, and registers any stored object that nothing references and
   nothing registered — what a kill -9 between store and commit leaves.

``custody storage orphans`` lists them. The store is content-addressed, so when the same
bytes are taken in again the intake references the existing object (extending its
retention), and it drops off the list: an orphan is "registered and not referenced".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from api.context import AppContext
from custody.errors import CustodyError, ObjectMissing
from custody.ledger import Action, EntryDraft, parse_rfc3339, rfc3339, utc_now
from custody.ledger_store import append
from custody.models import Evidence, LedgerEntry
from storage.durable import append_line

log = logging.getLogger("custody.orphans")

SYSTEM = "system"
ObjectId = tuple[str, str | None]  # (object key, version id)


@dataclass(frozen=True, kw_only=True)
class UnreferencedObject:
    """What is known about one object version to be registered."""

    key: str
    version_id: str | None
    size: int
    digests: dict[str, str]
    storage: str


@dataclass(frozen=True, kw_only=True)
class Registration:
    """One record of an unreferenced object, from the ledger or the register file."""

    key: str
    version_id: str | None
    size: int | None
    digests: dict[str, str]
    reason: str
    recorded: datetime
    source: str  # "ledger" or "register"
    seq: int | None = None
    case: str | None = None
    actor: str = SYSTEM


@dataclass(frozen=True, kw_only=True)
class Orphan:
    """A stored or registered object version that no evidence record references."""

    key: str
    version_id: str | None
    size: int | None
    registered: bool
    present: bool
    retain_until: datetime | None
    registrations: tuple[Registration, ...]

    def to_json(self) -> dict[str, Any]:
        first = self.registrations[0] if self.registrations else None
        return {
            "object_key": self.key,
            "object_version": self.version_id,
            "size": self.size,
            "registered": self.registered,
            "present": self.present,
            "retain_until": rfc3339(self.retain_until) if self.retain_until else None,
            "reason": first.reason if first else None,
            "recorded": rfc3339(first.recorded) if first else None,
            "sources": sorted({r.source for r in self.registrations}),
            "ledger_seqs": [r.seq for r in self.registrations if r.seq is not None],
        }


def _details(obj: UnreferencedObject, reason: str, code: str | None) -> dict[str, Any]:
    return {
        "object_key": obj.key,
        "object_version": obj.version_id,
        "size": obj.size,
        "digests": obj.digests,
        "storage": obj.storage,
        "reason": reason,
        **({"code": code} if code else {}),
    }


def record_unreferenced(
    ctx: AppContext,
    obj: UnreferencedObject,
    *,
    reason: str,
    code: str | None = None,
    actor: str = SYSTEM,
    department: str = SYSTEM,
    case: str | None = None,
) -> str:
    """Record ``obj`` on the ledger, else in the register file; returns where it went.

    Never raises: it runs while another failure is being reported, which must win.
    """
    details = _details(obj, reason, code)
    try:
        with ctx.session() as session:
            append(
                session,
                EntryDraft(
                    actor=actor,
                    department=department,
                    action=Action.OBJECT_UNREFERENCED,
                    case=case,
                    details=details,
                ),
            )
            session.commit()
        return "ledger"
    except Exception as e:  # the database failed too: fall back to the register file
        log.warning("cannot record unreferenced %s on the ledger (%s)", obj.key, type(e).__name__)
    record = {
        "time": rfc3339(utc_now()),
        "actor": actor,
        "department": department,
        "case": case,
        **details,
    }
    path = ctx.settings.unreferenced_register_path
    try:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
        append_line(path, line)
        return "register"
    except Exception:
        log.exception(
            "LOST TRACK: cannot register unreferenced object %s (version %s) in %s either; "
            "it stays in the store and the next sweep will register it",
            obj.key,
            obj.version_id,
            path,
        )
        return "log"


def read_register(path: Path) -> list[Registration]:
    """The register file's records; a torn last line (a crash mid-append) is skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    found = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            found.append(
                Registration(
                    key=str(rec["object_key"]),
                    version_id=rec.get("object_version"),
                    size=rec.get("size"),
                    digests=dict(rec.get("digests") or {}),
                    reason=str(rec.get("reason", "")),
                    recorded=parse_rfc3339(str(rec["time"])),
                    source="register",
                    case=rec.get("case"),
                    actor=str(rec.get("actor", SYSTEM)),
                )
            )
        except (ValueError, KeyError, TypeError):
            log.warning("skipping unreadable line %d of %s", number, path)
    return found


def _from_ledger(rows: Iterable[LedgerEntry]) -> list[Registration]:
    found = []
    for row in rows:
        entry = json.loads(bytes(row.canonical))
        details = entry.get("details") or {}
        found.append(
            Registration(
                key=str(details.get("object_key")),
                version_id=details.get("object_version"),
                size=details.get("size"),
                digests=dict(details.get("digests") or {}),
                reason=str(details.get("reason", "")),
                recorded=parse_rfc3339(entry["time"]),
                source="ledger",
                seq=row.seq,
                case=entry.get("case"),
                actor=str(entry.get("actor", SYSTEM)),
            )
        )
    return found


def registrations(ctx: AppContext) -> dict[ObjectId, list[Registration]]:
    """Every registration, ledger and register file, by object version."""
    with ctx.session() as session:
        rows = (
            session.execute(
                select(LedgerEntry)
                .where(col(LedgerEntry.action) == str(Action.OBJECT_UNREFERENCED))
                .order_by(col(LedgerEntry.seq))
            )
            .scalars()
            .all()
        )
        found = _from_ledger(rows)
    found += read_register(ctx.settings.unreferenced_register_path)
    by_object: dict[ObjectId, list[Registration]] = {}
    for reg in found:
        by_object.setdefault((reg.key, reg.version_id), []).append(reg)
    return by_object


def referenced(ctx: AppContext) -> set[ObjectId]:
    """Every object version an evidence record references (every part of an image too)."""
    with ctx.session() as session:
        rows = session.execute(select(col(Evidence.object_key), col(Evidence.object_version))).all()
        intakes = (
            session.execute(
                select(col(LedgerEntry.canonical)).where(col(LedgerEntry.action) == Action.INTAKE)
            )
            .scalars()
            .all()
        )
    used = {(key, version) for key, version in rows}
    for canonical in intakes:
        details = json.loads(canonical).get("details") or {}
        for part in details.get("parts") or []:
            if isinstance(part, dict):
                used.add((str(part.get("object_key")), part.get("object_version")))
    return used


def reconcile(ctx: AppContext, older_than: datetime) -> int:
    """Register what is unreferenced but not on the ledger yet; returns how many were added.

    Register-file lines are copied to the ledger (the ledger is the record), and stored
    objects last written before ``older_than`` that nothing references or registers are
    registered: younger ones may belong to an intake that is about to commit.
    """
    known = registrations(ctx)
    used = referenced(ctx)
    added = 0
    for oid, regs in known.items():
        if oid in used or any(r.source == "ledger" for r in regs):
            continue
        first = regs[0]
        where = record_unreferenced(
            ctx,
            UnreferencedObject(
                key=oid[0],
                version_id=oid[1],
                size=first.size or 0,
                digests=first.digests,
                storage=ctx.store.name,
            ),
            reason=f"registered in the register file at {rfc3339(first.recorded)}: {first.reason}",
            code="register-file",
            case=first.case,
        )
        added += where == "ledger"
    for listing in ctx.store.list_objects():
        oid = (listing.key, listing.version_id)
        if oid in used or oid in known or listing.modified >= older_than:
            continue
        where = record_unreferenced(
            ctx,
            UnreferencedObject(
                key=listing.key,
                version_id=listing.version_id,
                size=listing.size,
                digests={"blake3": listing.key.rsplit("/", 1)[-1]},
                storage=ctx.store.name,
            ),
            reason="found by the sweep: stored, but referenced by no evidence record "
            "(an intake that stopped between storing and committing)",
            code="found-by-sweep",
        )
        added += where == "ledger"
    return added


def list_orphans(ctx: AppContext) -> list[Orphan]:
    """Registered or stored object versions that no evidence record references."""
    known = registrations(ctx)
    used = referenced(ctx)
    stored = {(o.key, o.version_id): o for o in ctx.store.list_objects()}
    orphans = []
    for oid in sorted(set(known) | set(stored), key=lambda o: (o[0], o[1] or "")):
        if oid in used:
            continue
        regs = tuple(known.get(oid, ()))
        retain_until = None
        present = oid in stored
        try:
            info = ctx.store.stat(*oid)
            retain_until, present = info.lock.retain_until, True
        except ObjectMissing:
            present = False
        except CustodyError as e:
            log.warning("cannot inspect %s: %s", oid[0], e.message)
        listing = stored.get(oid)
        size = listing.size if listing else next((r.size for r in regs if r.size), None)
        orphans.append(
            Orphan(
                key=oid[0],
                version_id=oid[1],
                size=size,
                registered=bool(regs),
                present=present,
                retain_until=retain_until,
                registrations=regs,
            )
        )
    return orphans
