"""The OpenAPI document says exactly which problems each operation can answer.

Routes declare their own specific codes with :func:`problems`; what every operation can
answer is added here once: 400 (the input guard and request validation run everywhere) and,
for operations that take a token, 401, 403 and 503 (authentication reads the database).
FastAPI's default 422 ``HTTPValidationError`` is removed: request validation answers 400
problem JSON (api.problems), so documenting 422 there would be untrue.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_MEDIA_TYPE = "application/problem+json"

DESCRIPTIONS = {
    400: "Bad input, refused before anything was stored",
    401: "No token, or an unknown, expired or revoked one (or a bad enrolment code)",
    403: "Refused; the refusal is recorded on the ledger",
    404: "Does not exist, or is not yours to see (the same answer for both)",
    409: "Not possible in the current state",
    410: "The resumable upload expired and was abandoned",
    412: "The request lacks Tus-Resumable: 1.0.0",
    413: "Upload larger than the configured limit",
    415: "The body is not of the media type the route takes",
    422: "Content or record failed a check (digest mismatch, verification)",
    502: "The object store answered with an error",
    503: "Database or object storage unavailable; nothing was changed",
    507: "Storage full; nothing was recorded",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` is urn:evidence-custody:problem:<code>",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}


def problem_response(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer these problem statuses."""
    return {status: problem_response(status) for status in statuses}


def _is_default_validation(response: dict[str, Any]) -> bool:
    content = response.get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problems every operation can answer, and drop FastAPI's default 422."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses and _is_default_validation(responses["422"]):
                del responses["422"]
            common = [400]
            if operation.get("security"):
                common += [401, 403, 503]
            for status in common:
                responses.setdefault(str(status), problem_response(status))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    text = repr(schema.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in text:
            components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
