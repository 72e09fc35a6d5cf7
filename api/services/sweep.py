"""The sweep: remove what crashed intakes left in staging, register unreferenced objects.

It runs when the service starts (before it accepts requests) and then every
``CUSTODY_SWEEP_INTERVAL_SECONDS`` in a background thread. Only leftovers idle for longer
than ``CUSTODY_STAGING_MAX_AGE_SECONDS`` are touched, so an intake in progress — which
keeps writing its staging file or adding parts — is never swept from under its feet.
Nothing filed under a content key is ever deleted: those objects are evidence or
registered orphans, under retention (see api.services.orphans).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from api.context import AppContext
from api.services import orphans, uploads
from custody.errors import CustodyError
from custody.ledger import utc_now
from storage.base import SweepResult

log = logging.getLogger("custody.sweep")


@dataclass(frozen=True, kw_only=True)
class SweepReport:
    staging: SweepResult
    registered: int  # unreferenced objects newly put on the ledger
    uploads_expired: int = 0  # resumable uploads abandoned (evidence.upload_abandoned)

    def to_json(self) -> dict[str, int]:
        return {
            "staging_removed": self.staging.staging_removed,
            "uploads_aborted": self.staging.uploads_aborted,
            "bytes_freed": self.staging.bytes_freed,
            "unreferenced_registered": self.registered,
            "uploads_expired": self.uploads_expired,
        }


def sweep(ctx: AppContext) -> SweepReport:
    """One sweep; raises the storage or database error that stopped it."""
    cutoff = utc_now() - timedelta(seconds=ctx.settings.staging_max_age_seconds)
    staging = ctx.store.sweep_staging(cutoff)
    registered = orphans.reconcile(ctx, cutoff)
    expired = uploads.expire(ctx)
    report = SweepReport(staging=staging, registered=registered, uploads_expired=expired)
    if staging.staging_removed or staging.uploads_aborted or registered or expired:
        log.info("sweep: %s", report.to_json())
    return report


def sweep_logged(ctx: AppContext) -> SweepReport | None:
    """A sweep whose failure is logged, not raised: the next one tries again."""
    try:
        return sweep(ctx)
    except (CustodyError, SQLAlchemyError, OSError) as e:
        log.warning("sweep failed, will retry at the next interval: %s", e)
        return None


class PeriodicSweeper:
    """A daemon thread that sweeps every ``interval`` seconds until stopped."""

    def __init__(self, ctx: AppContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="custody-sweep", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            sweep_logged(self._ctx)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
