"""The application factory: no settings, engine or store is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api import openapi, problems, web
from api.boundary import ErrorBoundary
from api.context import AppContext, build_context
from api.input_guard import InputGuard
from api.routers import (
    accounts,
    cases,
    custody_ops,
    enrolment,
    evidence,
    grants,
    health,
    intake_sessions,
    keys,
    ledger,
    reports,
    secrecy,
    tiles,
    uploads,
    verifications,
)
from api.services import sweep
from api.services.anchor import AnchorThread
from api.settings import Settings, load_settings

ROUTERS = (
    health.router,
    accounts.router,
    enrolment.router,
    cases.router,
    grants.router,
    evidence.router,
    intake_sessions.router,
    uploads.router,
    custody_ops.router,
    ledger.router,
    reports.router,
    keys.router,
    tiles.router,
    secrecy.router,
)
VERIFICATION_PROBLEMS = openapi.problems(404, 409, 422, 502)
"""What the verification, evidence-list and export routes can answer besides the common
problems (declared here so that their router module stays as it is)."""


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    """Build the app; the database, store and keys are opened when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if context is None:
            app.state.ctx = build_context(settings or load_settings())
        ctx: AppContext = app.state.ctx
        # what a crash left behind is swept before the first request is accepted
        await run_in_threadpool(sweep.sweep_logged, ctx)
        sweeper = sweep.PeriodicSweeper(ctx, ctx.settings.sweep_interval_seconds)
        sweeper.start()
        anchoring = AnchorThread(ctx)
        anchoring.start()
        try:
            yield
        finally:
            anchoring.stop()
            sweeper.stop()
            ctx.engine.dispose()

    app = FastAPI(
        title="Evidence custody",
        version="0.1.0",
        summary="Hash on intake, WORM storage, a Merkle-backed custody ledger.",
        lifespan=lifespan,
    )
    if context is not None:
        app.state.ctx = context
    problems.install(app)
    app.add_middleware(InputGuard)
    app.add_middleware(ErrorBoundary)  # outermost but one: it sees every exception
    # outside it, so that even its 500 says Tus-Resumable (it only adds a header)
    app.add_middleware(uploads.TusHeaders)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(verifications.router, responses=VERIFICATION_PROBLEMS)
    openapi.install(app)
    web.mount(app)  # the pages for people (api.web), under / beside /api/v1
    logging.getLogger("custody").setLevel(logging.INFO)
    return app
