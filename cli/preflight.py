"""Checks a client makes before it sends a large body, so a refusal costs no upload.

The server decides again when the body arrives; these checks only spare the caller from
streaming a disk image into a case that does not exist, or that they may not add to. The
decision is :func:`custody.policy.decide` itself, on what the server says about the caller
and the case: intake needs ownership (no grant covers it), so nothing else is needed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from cli.client import ApiClient
from custody import policy
from custody.errors import PermissionDenied
from custody.ledger import utc_now


def case_path(number: str) -> str:
    """``/api/v1/cases/{number}`` with the number as one path segment."""
    return f"/api/v1/cases/{quote(number, safe='')}"


def check_intake(api: ApiClient, case: str) -> dict[str, Any]:
    """The case, if it exists for the caller and the caller may take in evidence there.

    An unknown (or hidden) case is the server's 404; a refusal is PermissionDenied (exit 4).
    """
    me: dict[str, Any] = api.get("/api/v1/accounts/me").json()
    found: dict[str, Any] = api.get(case_path(case)).json()
    decision = policy.decide(
        principal=policy.Principal(
            account=me["name"],
            role=policy.parse_role(me["role"]),
            department=me["department"],
            clearance=policy.parse_level(me["clearance"]),
            active=me["active"],
        ),
        action=policy.Permission.EVIDENCE_INTAKE,
        case=policy.CaseScope(
            number=found["number"],
            department=found["department"],
            classification=policy.parse_level(found["classification"]),
        ),
        now=utc_now(),
    )
    if not decision.allowed:
        raise PermissionDenied(f"{decision.public_reason}; nothing was uploaded")
    return found
