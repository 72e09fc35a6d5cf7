"""State transitions are checked and recorded under one lock; a failed disposal is retried.

Races are made deterministic with a barrier inside the transition check (not timing): each
request waits there for the other. With the lock held during the check, the second request
cannot reach the barrier until the first has committed, so the barrier breaks after its
timeout and the second request then sees the new state and is refused. Without the lock both
would pass the check together and both transitions would be recorded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.context import AppContext, build_context
from api.settings import Settings
from custody import transitions
from custody.ledger import Action
from tests.api.test_access import entries, intake
from tests.conftest import Actor, add_account, make_s3_settings, make_settings
from tests.seaweed import SeaweedS3

RETENTION_SECONDS = 1.5
BARRIER_TIMEOUT = 3.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, retention_days=RETENTION_SECONDS / 86400)


def race(
    monkeypatch: pytest.MonkeyPatch,
    check: str,
    requests: list[Callable[[], Any]],
) -> list[Any]:
    """Run the requests in threads; each waits inside ``transitions.<check>`` for the other."""
    barrier = threading.Barrier(len(requests), timeout=BARRIER_TIMEOUT)
    original = getattr(transitions, check)

    def waiting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other request is held at the lock: the serialized case
        return result

    monkeypatch.setattr(transitions, check, waiting)
    results: list[Any] = [None] * len(requests)

    def run(i: int) -> None:
        results[i] = requests[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def post(
    app_client: TestClient, path: str, actor: Actor, body: dict[str, Any]
) -> Callable[[], Any]:
    return lambda: app_client.post(path, json=body, headers=actor.headers)


def test_two_concurrent_disposal_approvals_exactly_one_wins(
    client: TestClient,
    ctx: AppContext,
    admin: Actor,
    technician: Actor,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ev = intake(client, technician, case)
    second = add_account(ctx, "zhou.admin", role="admin", department="administration")
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal",
        json={"reason": "closed"},
        headers=technician.headers,
    )
    assert r.status_code == 201, r.text
    time.sleep(RETENTION_SECONDS + 0.2)  # let the (tiny) retention run out
    path = f"/api/v1/evidence/{ev['id']}/disposal/approve"
    with TestClient(create_app(context=ctx)) as other:
        results = race(
            monkeypatch,
            "approve_disposal",
            [
                post(client, path, admin, {"reason": "a"}),
                post(other, path, second, {"reason": "b"}),
            ],
        )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    approvals = [
        e
        for e in entries(ctx)
        if e["evidence"] == ev["id"] and e["action"] == Action.DISPOSAL_APPROVED
    ]
    disposed = [
        e for e in entries(ctx) if e["evidence"] == ev["id"] and e["action"] == Action.DISPOSED
    ]
    assert len(approvals) == 1 and len(disposed) == 1


def test_two_concurrent_transfers_exactly_one_wins(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ev = intake(client, technician, case)
    add_account(ctx, "wang.a", role="technician", department="forensics")
    add_account(ctx, "wang.b", role="technician", department="forensics")
    path = f"/api/v1/evidence/{ev['id']}/transfers"
    with TestClient(create_app(context=ctx)) as other:
        results = race(
            monkeypatch,
            "start_transfer",
            [
                post(client, path, technician, {"to": "wang.a", "reason": "lab A"}),
                post(other, path, technician, {"to": "wang.b", "reason": "lab B"}),
            ],
        )
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    started = [
        e
        for e in entries(ctx)
        if e["evidence"] == ev["id"] and e["action"] == Action.TRANSFER_STARTED
    ]
    assert len(started) == 1


def test_two_concurrent_transfer_acceptances_exactly_one_is_recorded(
    client: TestClient,
    ctx: AppContext,
    technician: Actor,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ev = intake(client, technician, case)
    to = add_account(ctx, "wang.a", role="technician", department="forensics")
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/transfers",
        json={"to": "wang.a", "reason": "lab A"},
        headers=technician.headers,
    )
    assert r.status_code == 201, r.text
    path = f"/api/v1/evidence/{ev['id']}/transfers/accept"
    with TestClient(create_app(context=ctx)) as other:
        results = race(
            monkeypatch, "accept_transfer", [post(client, path, to, {}), post(other, path, to, {})]
        )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    accepted = [
        e
        for e in entries(ctx)
        if e["evidence"] == ev["id"] and e["action"] == Action.TRANSFER_ACCEPTED
    ]
    assert len(accepted) == 1


# --- a failed disposal can be retried to completion ------------------------------------------

pytest_s3 = pytest.mark.s3


@pytest.fixture
def s3_ctx(tmp_path: Path, seaweed_s3: SeaweedS3) -> Iterator[AppContext]:
    settings = make_s3_settings(tmp_path, seaweed_s3, retention_days=RETENTION_SECONDS / 86400)
    context = build_context(settings)
    yield context
    context.engine.dispose()


@pytest_s3
def test_disposal_with_storage_down_is_recorded_as_failed_and_retried_when_it_is_back(
    s3_ctx: AppContext, seaweed_s3: SeaweedS3
) -> None:
    with TestClient(create_app(context=s3_ctx)) as s3_client:
        tech = add_account(s3_ctx, "li.wei", role="technician", department="forensics")
        admin = add_account(s3_ctx, "zhou.admin", role="admin", department="administration")
        r = s3_client.post(
            "/api/v1/cases", json={"number": "D-1", "title": "d"}, headers=tech.headers
        )
        assert r.status_code == 201, r.text
        r = s3_client.post(
            "/api/v1/evidence",
            files=[
                ("metadata", (None, json.dumps({"case": "D-1"}))),
                ("file", ("a", os.urandom(4096))),
            ],
            headers=tech.headers,
        )
        assert r.status_code == 201, r.text
        ev = r.json()
        r = s3_client.post(
            f"/api/v1/evidence/{ev['id']}/disposal", json={"reason": "closed"}, headers=tech.headers
        )
        assert r.status_code == 201, r.text
        time.sleep(RETENTION_SECONDS + 1.0)
        seaweed_s3.stop()
        try:
            r = s3_client.post(
                f"/api/v1/evidence/{ev['id']}/disposal/approve",
                json={"reason": "approved"},
                headers=admin.headers,
            )
            assert r.status_code == 503, r.text
            shown = s3_client.get(f"/api/v1/evidence/{ev['id']}", headers=tech.headers).json()
            assert shown["state"]["status"] == "disposal_approved"
            assert shown["state"]["pending_disposal"]["failures"] == 1
            last = [e for e in entries(s3_ctx) if e["action"] != Action.VIEW][-1]
            assert last["action"] == Action.DISPOSAL_FAILED
            assert last["details"]["code"] == "storage-unavailable"
            # not stuck: approving again is refused as already approved, with what to do
            r = s3_client.post(
                f"/api/v1/evidence/{ev['id']}/disposal/approve",
                json={"reason": "again"},
                headers=admin.headers,
            )
            assert r.status_code == 409
            # a retry while storage is still down fails again, and says so on the ledger
            r = s3_client.post(
                f"/api/v1/evidence/{ev['id']}/disposal/complete", headers=admin.headers
            )
            assert r.status_code == 503
        finally:
            seaweed_s3.start()
        r = s3_client.post(f"/api/v1/evidence/{ev['id']}/disposal/complete", headers=admin.headers)
        assert r.status_code == 200, r.text
        assert r.json()["state"]["status"] == "disposed"
        actions = [e["action"] for e in entries(s3_ctx) if e["evidence"] == ev["id"]]
        assert actions.count(Action.DISPOSAL_FAILED) == 2
        assert actions.count(Action.DISPOSED) == 1 and actions.count(Action.DISPOSAL_APPROVED) == 1
        # and a completed disposal cannot be completed twice
        r = s3_client.post(f"/api/v1/evidence/{ev['id']}/disposal/complete", headers=admin.headers)
        assert r.status_code == 409
