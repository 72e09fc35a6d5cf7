"""Liveness and readiness; the only endpoints that answer without a token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ContextDep
from custody.errors import CustodyError

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
    checks: dict[str, str] = {}
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:  # any failure means not ready; say which
        checks["database"] = f"unavailable: {type(e).__name__}"
    try:
        ctx.store.check_ready()
        checks["storage"] = "ok"
    except CustodyError as e:
        checks["storage"] = f"unavailable: {e.message}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)
