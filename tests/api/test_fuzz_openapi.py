"""Issue 10, fuzzing: a bounded schemathesis run over the OpenAPI document, once with an
administrator's token and once with a technician's.

Every response must be below 500, carry a documented status code and a documented content
type, and match the documented schema. Each run gets a fresh service (its own data
directory, database and accounts) holding one case with one item, so requests can reach
real rows. The runs cannot lock themselves out: account revocation is left out of them, an
administrator cannot revoke itself anyway, and re-enrolment needs a code that only its
response shows. Generation is derandomized and bounded (``FUZZ_EXAMPLES`` per operation),
so a run is repeatable and takes well under a minute each; set
``CUSTODY_FUZZ_EXAMPLES`` to explore more.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.context import build_context
from tests.conftest import Actor, add_account, make_settings

FUZZ_EXAMPLES = int(os.environ.get("CUSTODY_FUZZ_EXAMPLES", "25"))
FUZZ_RANDOM = os.environ.get("CUSTODY_FUZZ_RANDOM") == "1"  # explore beyond the fixed run
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LOCKOUT = "/api/v1/accounts/{name}/revoke"
# a tus PATCH body (api.routers.uploads) is bytes, sent as application/octet-stream is
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


@dataclass
class FuzzTarget:
    schema: Any
    actor: Actor
    known: dict[str, str]  # path parameters naming real rows: the seeded case and item


def fuzz_target(tmp_path: Path, role: str, database_url: str | None = None) -> Iterator[FuzzTarget]:
    ctx = build_context(make_settings(tmp_path, database_url=database_url))
    tech = add_account(ctx, "li.wei", role="technician", department="forensics")
    admin = Actor(
        name="admin",
        token=ctx.settings.admin_token_path.read_text().strip(),
        role="admin",
        department="administration",
    )
    app = create_app(context=ctx)
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/cases", json={"number": "FZ-1", "title": "fuzz"}, headers=tech.headers
        )
        assert r.status_code == 201, r.text
        r = client.post(
            "/api/v1/evidence",
            files=[
                ("metadata", (None, json.dumps({"case": "FZ-1"}))),
                ("file", ("a.bin", b"fuzzed evidence")),
            ],
            headers=tech.headers,
        )
        assert r.status_code == 201, r.text
        evidence_id = r.json()["id"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=LOCKOUT)
    known = {"number": "FZ-1", "evidence_id": evidence_id, "name": "li.wei"}
    yield FuzzTarget(schema=schema, actor=admin if role == "admin" else tech, known=known)
    ctx.engine.dispose()


def fuzz(target: FuzzTarget) -> tuple[list[str], dict[str, Counter[int]]]:
    """Run every operation in both generation modes; return the failures and the statuses."""
    failures: list[str] = []
    statuses: dict[str, Counter[int]] = {}
    for result in target.schema.get_all_operations():
        operation = result.ok()
        seen = statuses.setdefault(operation.label, Counter())
        names = {p.name for p in operation.path_parameters}
        on_rows = {k: v for k, v in target.known.items() if k in names}
        passes = [
            ("positive", FUZZ_SETTINGS, operation.as_strategy()),
            (
                "negative",
                FUZZ_SETTINGS,
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            ),
        ]
        if on_rows and on_rows.keys() == names:  # reports and exports are costly: fewer
            strategy = operation.as_strategy(path_parameters=on_rows)
            passes.append(("on the seeded rows", ON_ROWS_SETTINGS, strategy))
        for mode, budget, strategy in passes:

            @budget
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call_and_validate(
                    headers=target.actor.headers, checks=CHECKS, timeout=60
                )
                seen[response.status_code] += 1

            try:
                run()
            except Unsatisfiable:  # no input can violate a schema without parameters
                continue
            except (Exception, FailureGroup) as e:  # what the checks found, described
                failures.append(f"{operation.label} ({mode}): {e}")
    return failures, statuses


def assert_clean(target: FuzzTarget) -> None:
    failures, statuses = fuzz(target)
    assert not failures, "\n\n".join(failures)
    # The token was used: every operation answered something other than 401 at least once.
    unauthenticated = [label for label, seen in statuses.items() if set(seen) <= {401}]
    assert unauthenticated == [], statuses
    assert LOCKOUT not in " ".join(statuses)


FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=not FUZZ_RANDOM,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ON_ROWS_SETTINGS = settings(FUZZ_SETTINGS, max_examples=max(3, FUZZ_EXAMPLES // 3))


@pytest.mark.slow
def test_fuzz_openapi_as_administrator(tmp_path: Path) -> None:
    for target in fuzz_target(tmp_path, "admin"):
        assert_clean(target)


@pytest.mark.slow
def test_fuzz_openapi_as_technician(tmp_path: Path) -> None:
    for target in fuzz_target(tmp_path, "technician"):
        assert_clean(target)
