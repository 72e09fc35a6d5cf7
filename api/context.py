"""Everything a running service holds: settings, database engine, object store, signing key.

Built once per app in the lifespan (never at import), so tests can run many apps side by
side, each with its own data directory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from api.keys import load_or_create_signing_key, load_report_certificate
from api.reports.signing import ReportCertificate
from api.security import issue_token
from api.settings import Settings
from custody.checkpoint import SigningKey
from custody.db import make_engine, migrate
from custody.ledger import Action, EntryDraft, utc_now
from custody.ledger_store import append
from custody.models import Account
from storage.base import ObjectStore
from storage.durable import write_atomic
from storage.local import LocalWormStore

if TYPE_CHECKING:
    from api.services.anchor import Anchor

log = logging.getLogger("custody")

BOOTSTRAP_ADMIN = "admin"
ADMIN_DEPARTMENT = "administration"


@dataclass(kw_only=True)
class AppContext:
    """``signing_key`` is the ledger's current key; it changes only when the ledger rotates
    it (api.services.checkpoints.current_key). ``anchor`` holds the witnesses and TSAs."""

    settings: Settings
    engine: Engine
    store: ObjectStore
    signing_key: SigningKey
    report_signer: ReportCertificate
    anchor: Anchor | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session


def build_store(settings: Settings) -> ObjectStore:
    if settings.storage == "s3":
        from storage.s3 import S3Config, S3ObjectLockStore

        return S3ObjectLockStore.from_config(S3Config.from_settings(settings))
    return LocalWormStore(settings.data_dir / "store")


def bootstrap_admin(ctx: AppContext) -> str | None:
    """On an empty database create the administrator and write its token (0600) once."""
    with ctx.session() as session:
        if session.execute(select(func.count()).select_from(Account)).scalar_one() > 0:
            return None
        session.add(
            Account(
                name=BOOTSTRAP_ADMIN,
                display_name="Bootstrap administrator",
                role="admin",
                department=ADMIN_DEPARTMENT,
                clearance="top_secret",
                active=True,
                created_at=utc_now(),
                created_by="system",
            )
        )
        session.flush()
        _, token = issue_token(session, BOOTSTRAP_ADMIN)
        append(
            session,
            EntryDraft(
                actor="system",
                department="system",
                action=Action.ACCOUNT_CREATED,
                details={"account": BOOTSTRAP_ADMIN, "role": "admin", "bootstrap": True},
            ),
        )
        path = ctx.settings.admin_token_path
        write_atomic(path, (token + "\n").encode(), mode=0o600)
        session.commit()
    log.info("created the administrator account; its token is in %s", path)
    return token


def build_context(settings: Settings, *, store: ObjectStore | None = None) -> AppContext:
    """Open (and on first start create) the database, store, key and admin account."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    the_store = store or build_store(settings)
    the_store.check_ready()
    key = load_or_create_signing_key(
        settings.signing_key_path, settings.ledger_origin, create=settings.signing_key is None
    )
    ctx = AppContext(
        settings=settings,
        engine=engine,
        store=the_store,
        signing_key=key,
        report_signer=load_report_certificate(settings),
    )
    from api.services.anchor import build_anchor  # it needs the context type
    from api.services.checkpoints import current_key

    ctx.anchor = build_anchor(ctx)
    with ctx.session() as session:
        current_key(ctx, session)  # a rotated key, if the ledger says so
    bootstrap_admin(ctx)
    return ctx
