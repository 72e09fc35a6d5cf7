"""Liveness and readiness; the only endpoints that answer without a token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ContextDep
from custody.errors import CustodyError
from storage.durable import is_full, probe_write

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


READINESS = {
    "description": "Not ready: the JSON names the check that failed",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


@router.get("/readyz", responses={503: READINESS})
def readyz(ctx: ContextDep) -> JSONResponse:
    """Ready only if the data dir takes a real write, the database answers and the store works.

    Each check says ``ok`` or why not. The data-dir probe is a small non-empty fsynced
    write (then removed): an empty file would still be created on a full disk.
    """
    checks: dict[str, str] = {}
    try:
        probe_write(ctx.settings.data_dir)
        checks["data_dir"] = "ok"
    except OSError as e:
        state = "full" if is_full(e) else "not writable"
        checks["data_dir"] = f"{state}: {ctx.settings.data_dir}: {e.strerror or e}"
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:  # any failure means not ready; say which (never the URL)
        checks["database"] = f"unavailable: {type(e).__name__}"
    try:
        ctx.store.check_ready()
        checks["storage"] = "ok"
    except CustodyError as e:
        checks["storage"] = f"unavailable ({e.code}): {e.message}"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"ready": ready, **checks}
    if ctx.anchor is not None and ctx.anchor.enabled:
        # witnesses and TSAs are reported, never counted: one down must not stop intake
        body["anchoring"] = ctx.anchor.readiness()
    return JSONResponse(body, status_code=200 if ready else 503)
