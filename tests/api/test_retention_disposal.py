"""Retention is extended (never shortened) on the record; disposed items leave bundles clean."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.context import AppContext
from api.settings import Settings
from custody.bundle import verify_bundle, write_bundle
from custody.bundle.package import bundle_input
from custody.ledger import Action, rfc3339, utc_now
from tests.api.test_access import entries, intake
from tests.conftest import Actor, make_settings

DATA = os.urandom(50_000)
RETENTION_SECONDS = 1.5


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Retention of a second and a half, so that tests can outlive it."""
    return make_settings(tmp_path, retention_days=RETENTION_SECONDS / 86400)


def wait_out_retention() -> None:
    time.sleep(RETENTION_SECONDS + 0.2)


def test_retention_is_extended_in_storage_and_on_the_ledger(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    later = utc_now() + timedelta(days=400)
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/retention",
        json={"until": later.isoformat(), "reason": "appeal pending"},
        headers=technician.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"]["retention_until"] == rfc3339(later)
    lock = ctx.store.stat(ev["object_key"], ev["object_version"]).lock
    assert lock.retain_until == later
    last = entries(ctx)[-1]
    assert (
        last["action"] == Action.RETENTION_EXTENDED
        and last["details"]["reason"] == "appeal pending"
    )
    # Never shortened, and a refusal changes nothing.
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/retention",
        json={"until": (utc_now() + timedelta(days=1)).isoformat(), "reason": "oops"},
        headers=technician.headers,
    )
    assert r.status_code == 409 and "never shortened" in r.json()["detail"]
    assert ctx.store.stat(ev["object_key"], ev["object_version"]).lock.retain_until == later
    # Verification now expects the extended date.
    r = client.post(f"/api/v1/evidence/{ev['id']}/verifications", headers=technician.headers)
    report = r.json()["report"]
    assert r.json()["result"] == "pass", report["findings"]
    assert report["lock"]["expected_retain_until"] == rfc3339(later)


def test_disposal_respects_an_extended_retention(
    client: TestClient, ctx: AppContext, admin: Actor, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case, DATA)
    later = utc_now() + timedelta(days=400)
    client.post(
        f"/api/v1/evidence/{ev['id']}/retention",
        json={"until": later.isoformat(), "reason": "appeal"},
        headers=technician.headers,
    )
    wait_out_retention()  # the intake's retention has passed, the extension has not
    client.post(
        f"/api/v1/evidence/{ev['id']}/disposal",
        json={"reason": "closed"},
        headers=technician.headers,
    )
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal/approve",
        json={"reason": "ok"},
        headers=admin.headers,
    )
    assert r.status_code == 409 and "retained until" in r.json()["detail"]


def test_export_leaves_disposed_items_out_and_the_bundle_verifies(
    client: TestClient, ctx: AppContext, admin: Actor, technician: Actor, case: str, tmp_path: Path
) -> None:
    kept = intake(client, technician, case, DATA)
    gone = intake(client, technician, case, os.urandom(1000))
    client.post(
        f"/api/v1/evidence/{gone['id']}/disposal",
        json={"reason": "closed"},
        headers=technician.headers,
    )
    wait_out_retention()
    r = client.post(
        f"/api/v1/evidence/{gone['id']}/disposal/approve",
        json={"reason": "ok"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text

    r = client.post(
        f"/api/v1/cases/{case}/exports", json={"purpose": "court"}, headers=technician.headers
    )
    assert r.status_code == 200, r.text
    package = r.json()
    assert [i["evidence"]["id"] for i in package["items"]] == [kept["id"]]
    assert package["disposed"] == [gone["id"]]
    # The disposed item's whole history travels in the bundle.
    actions = [json.loads(base64.b64decode(e["canonical"])) for e in package["entries"]]
    assert Action.DISPOSED in [a["action"] for a in actions if a["evidence"] == gone["id"]]

    data = bundle_input(package, content={}, exported_at=rfc3339(utc_now()))
    bundle = write_bundle(data, tmp_path / "bundle", with_content=False)
    report = verify_bundle(bundle, trusted_key=ctx.signing_key.verifier())
    assert report.ok, [c for c in report.checks if not c.ok]


def test_disposal_needs_expired_retention_no_hold_and_a_second_person(
    client: TestClient, ctx: AppContext, admin: Actor, technician: Actor, case: str
) -> None:
    ev = intake(client, technician, case)
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal",
        json={"reason": "case closed"},
        headers=technician.headers,
    )
    assert r.status_code == 201, r.text
    # Not the same person.
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal/approve",
        json={"reason": "ok"},
        headers=technician.headers,
    )
    assert r.status_code == 403
    # Not before retention ends.
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal/approve",
        json={"reason": "ok"},
        headers=admin.headers,
    )
    assert r.status_code == 409 and "retained until" in r.json()["detail"]
    wait_out_retention()
    # Not under a legal hold.
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/legal-hold",
        json={"on": True, "reason": "appeal"},
        headers=technician.headers,
    )
    assert r.status_code == 200 and r.json()["state"]["legal_hold"] is True
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal/approve",
        json={"reason": "ok"},
        headers=admin.headers,
    )
    assert r.status_code == 409 and "legal hold" in r.json()["detail"]
    client.post(
        f"/api/v1/evidence/{ev['id']}/legal-hold",
        json={"on": False, "reason": "appeal over"},
        headers=technician.headers,
    )
    r = client.post(
        f"/api/v1/evidence/{ev['id']}/disposal/approve",
        json={"reason": "approved"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"]["status"] == "disposed"
    # The record, its digests and its whole history remain; the content is gone.
    shown = client.get(f"/api/v1/evidence/{ev['id']}", headers=technician.headers).json()
    assert shown["digests"] == ev["digests"]
    actions = [e["action"] for e in entries(ctx) if e["evidence"] == ev["id"]]
    assert actions[0] == Action.INTAKE
    assert Action.DISPOSAL_APPROVED in actions and actions[-2] == Action.DISPOSED
    r = client.get(
        f"/api/v1/evidence/{ev['id']}/content", params={"purpose": "x"}, headers=technician.headers
    )
    assert r.status_code == 409
    r = client.post(f"/api/v1/evidence/{ev['id']}/verifications", headers=technician.headers)
    assert r.status_code == 409 and "disposed of" in r.json()["detail"]
