"""One exception boundary: custody errors become RFC 9457 problem JSON with a stable type."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from custody import errors

log = logging.getLogger("custody.api")

PROBLEM_BASE = "urn:evidence-custody:problem:"

STATUS: list[tuple[type[errors.CustodyError], int]] = [
    (errors.UploadTooLarge, 413),
    (errors.TusVersionUnsupported, 412),
    (errors.UnsupportedMediaType, 415),
    (errors.UploadExpired, 410),
    (errors.DigestMismatch, 422),
    (errors.ImageError, 422),
    (errors.FileNameTooLong, 422),
    (errors.InvalidDigest, 422),
    (errors.UploadAborted, 400),
    (errors.InputError, 400),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.AuthenticationRequired, 401),
    (errors.PermissionDenied, 403),
    (errors.VerificationError, 422),
    (errors.StorageFull, 507),
    (errors.DatabaseUnavailable, 503),
    (errors.ImageSupportMissing, 503),
    (errors.InternalError, 500),
    (errors.StorageUnavailable, 503),
    (errors.StorageMisconfigured, 503),
    (errors.ObjectMissing, 409),
    (errors.RetentionActive, 409),
    (errors.StorageError, 502),
]


def status_for(exc: errors.CustodyError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def request_id_of(request: Request) -> str | None:
    """The id the error boundary gave this request (api.boundary), if it ran."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    *,
    request_id: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
        **({"request_id": request_id} if request_id else {}),
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def custody_problem(request: Request, exc: errors.CustodyError) -> JSONResponse:
    status = status_for(exc)
    request_id = request_id_of(request)
    if status >= 500:
        log.warning(
            "request %s: %s %s: %s", request_id, request.method, request.url.path, exc.message
        )
    return problem(
        status,
        exc.code,
        exc.title,
        exc.message,
        request.url.path,
        request_id=request_id,
        **exc.extra,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.CustodyError)
    async def _custody_error(request: Request, exc: errors.CustodyError) -> JSONResponse:
        return custody_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Bad input is 400 like every other input error (the contract documents no 422)."""
        details = [
            {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details)
        return problem(
            400,
            "request-validation",
            "Invalid request",
            summary,
            request.url.path,
            request_id=request_id_of(request),
            errors=details,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        response = problem(
            exc.status_code,
            code,
            str(exc.detail),
            str(exc.detail),
            request.url.path,
            request_id=request_id_of(request),
        )
        response.headers.update(exc.headers or {})
        return response
