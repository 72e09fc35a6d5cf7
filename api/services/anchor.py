"""Anchoring checkpoints outside our own key: witnesses cosign them, TSAs timestamp them.

Everything here happens after the checkpoint's transaction committed, and adds signature
lines or tokens beside the note; the note's body — what the log key signed, and what an
export's checkpoint ends at — never changes. A witness or TSA that is down is retried with
exponential backoff and reported by ``/readyz``; it never stops intake, and the service
stays ready.

Submissions to one witness are serialised (one lock per witness), so the sizes it is asked
to cosign only grow; an export anchors its own checkpoint at once, and a background thread
anchors whatever the ledger has grown to every ``anchor_interval_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

from api.context import AppContext
from api.services.checkpoints import sign_checkpoint
from api.services.tsa_client import TsaConfig, parse_tsas, request_token
from api.services.witness_client import WitnessConfig, parse_witnesses, submit
from custody import ledger_store
from custody.checkpoint import split_note
from custody.errors import CustodyError
from custody.ledger import utc_now
from custody.models import Checkpoint, Cosignature, Timestamp
from custody.timestamp import body_digest

log = logging.getLogger("custody.anchor")


@dataclass
class PartyStatus:
    """What the log last heard from one witness or TSA."""

    attempts: int = 0
    failures: int = 0  # consecutive
    last_ok: str | None = None
    last_error: str | None = None
    next_try: float = 0.0  # monotonic
    size: int | None = None  # a witness's latest cosigned size, as far as we know

    def describe(self) -> str:
        if self.failures:
            return f"failing ({self.failures} in a row; retrying with backoff): {self.last_error}"
        return f"ok: {self.last_ok}" if self.last_ok else "ok: nothing submitted yet"


@dataclass
class Anchor:
    """The log's witnesses and TSAs, their status, and the work of anchoring one checkpoint."""

    witnesses: list[WitnessConfig]
    tsas: list[TsaConfig]
    interval: float
    max_backoff: float
    timeout: float
    tsa_interval: float
    status: dict[str, PartyStatus] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in [w.url for w in self.witnesses] + [t.url for t in self.tsas]:
            self.status.setdefault(name, PartyStatus())
            self._locks.setdefault(name, threading.Lock())

    @property
    def enabled(self) -> bool:
        return bool(self.witnesses or self.tsas)

    def readiness(self) -> dict[str, str]:
        """Per witness and TSA: ``ok: …`` or ``failing …`` (informational: never 503)."""
        report = {f"witness {w.url} ({w.label})": self.status[w.url] for w in self.witnesses}
        report.update({f"tsa {t.url}": self.status[t.url] for t in self.tsas})
        return {name: s.describe() for name, s in report.items()}

    # --- one checkpoint ------------------------------------------------------------------

    def anchor(
        self, ctx: AppContext, row: Checkpoint, *, timestamp: bool, force: bool = False
    ) -> None:
        """Submit ``row`` to every witness due (all when ``force``), and timestamp it if asked.

        Failures are recorded on the status, never raised.
        """
        with httpx.Client(timeout=self.timeout) as http:
            for witness in self.witnesses:
                self._witness(ctx, http, witness, row, force=force)
            if timestamp:
                for tsa in self.tsas:
                    self._timestamp(ctx, http, tsa, row, force=force)

    def _due(self, status: PartyStatus, force: bool) -> bool:
        return force or time.monotonic() >= status.next_try

    def _failed(self, status: PartyStatus, name: str, error: Exception) -> None:
        status.failures += 1
        status.last_error = error.message if isinstance(error, CustodyError) else str(error)
        delay = min(self.interval * 2 ** (status.failures - 1), self.max_backoff)
        status.next_try = time.monotonic() + delay
        log.warning(
            "anchoring with %s failed (retry in %.0f s): %s", name, delay, status.last_error
        )

    def _succeeded(self, status: PartyStatus, what: str) -> None:
        status.failures = 0
        status.last_error = None
        status.last_ok = what
        status.next_try = 0.0

    def _witness(
        self,
        ctx: AppContext,
        http: httpx.Client,
        witness: WitnessConfig,
        row: Checkpoint,
        *,
        force: bool,
    ) -> None:
        status = self.status[witness.url]
        with self._locks[witness.url]:
            with ctx.session() as session:
                if _has_cosignature(session, row.size, witness.label):
                    return
                if not self._due(status, force):
                    return
                status.attempts += 1
                old = status.size if status.size is not None else _known_size(session, witness)

                def proof(first: int) -> list[bytes]:
                    return ledger_store.consistency_proof(session, first, row.size)

                try:
                    cosigned = submit(http, witness, row.note, row.size, old, proof)
                except (CustodyError, SQLAlchemyError) as e:
                    session.rollback()
                    self._failed(status, witness.url, e)
                    return
                session.rollback()  # end the read before the write below
                _store_cosignature(
                    session, row.size, witness.label, cosigned.line, cosigned.timestamp
                )
            status.size = row.size
            self._succeeded(status, f"cosigned size {row.size}")

    def _timestamp(
        self, ctx: AppContext, http: httpx.Client, tsa: TsaConfig, row: Checkpoint, *, force: bool
    ) -> None:
        status = self.status[tsa.url]
        with self._locks[tsa.url], ctx.session() as session:
            if _has_timestamp(session, row.size, tsa.url) or not self._due(status, force):
                return
            body, _ = split_note(row.note)
            digest = body_digest(body)
            status.attempts += 1
            try:
                token, verified = request_token(http, tsa, body, digest)
            except CustodyError as e:
                self._failed(status, tsa.url, e)
                return
            session.rollback()
            session.add(
                Timestamp(
                    id=uuid.uuid4().hex,
                    size=row.size,
                    tsa=tsa.url,
                    body_sha256=digest.hex(),
                    token=token,
                    gen_time=verified.time,
                    created_at=utc_now(),
                )
            )
            session.commit()
            self._succeeded(status, f"timestamped size {row.size} at {verified.time.isoformat()}")

    # --- the background round ------------------------------------------------------------

    def run_once(self, ctx: AppContext) -> None:
        """Sign a checkpoint if the ledger grew, then anchor the latest one."""
        try:
            with ctx.session() as session:
                row = sign_checkpoint(ctx, session)
                session.commit()
                due = self.tsas and _timestamp_due(session, self.tsa_interval)
        except (CustodyError, SQLAlchemyError) as e:
            log.warning("anchor: cannot sign a checkpoint now: %s", e)
            return
        self.anchor(ctx, row, timestamp=bool(due))


def build_anchor(ctx: AppContext) -> Anchor:
    s = ctx.settings
    return Anchor(
        witnesses=parse_witnesses(s.witnesses),
        tsas=parse_tsas(s.tsa),
        interval=s.anchor_interval_seconds,
        max_backoff=s.anchor_max_backoff_seconds,
        timeout=s.anchor_timeout_seconds,
        tsa_interval=s.tsa_interval_seconds,
    )


def _has_cosignature(session: Session, size: int, witness: str) -> bool:
    return session.get(Cosignature, (size, witness)) is not None


def _has_timestamp(session: Session, size: int, tsa: str) -> bool:
    found = session.execute(
        select(func.count())
        .select_from(Timestamp)
        .where(col(Timestamp.size) == size, col(Timestamp.tsa) == tsa)
    ).scalar_one()
    return bool(found)


def _known_size(session: Session, witness: WitnessConfig) -> int:
    """The largest size this witness cosigned for us (0 if none): where to start from."""
    found = session.execute(
        select(func.max(Cosignature.size)).where(col(Cosignature.witness) == witness.label)
    ).scalar_one_or_none()
    return int(found) if found is not None else 0


def _timestamp_due(session: Session, interval: float) -> bool:
    latest = session.execute(select(func.max(Timestamp.created_at))).scalar_one_or_none()
    if latest is None:
        return True
    latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return bool(utc_now() - latest >= timedelta(seconds=interval))


def _store_cosignature(
    session: Session, size: int, witness: str, line: str, timestamp: int
) -> None:
    try:
        session.add(
            Cosignature(
                size=size,
                witness=witness,
                line=line,
                signed_at=datetime.fromtimestamp(timestamp, UTC),
                received_at=utc_now(),
            )
        )
        session.commit()
    except IntegrityError:  # another replica stored one for this size first
        session.rollback()


class AnchorThread:
    """Runs :meth:`Anchor.run_once` every interval until stopped (only when configured)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="custody-anchor", daemon=True)

    def start(self) -> None:
        anchor = self._ctx.anchor
        if anchor is not None and anchor.enabled:
            self._thread.start()

    def _run(self) -> None:
        anchor = self._ctx.anchor
        assert anchor is not None
        while True:
            anchor.run_once(self._ctx)
            if self._stop.wait(anchor.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
