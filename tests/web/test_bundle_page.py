"""The "check a bundle" page: the exported zip verifies; the bundle's own key is never trusted."""

from __future__ import annotations

import io
import re
import zipfile

from fastapi.testclient import TestClient

from api.context import AppContext
from custody.checkpoint import SigningKey
from tests.conftest import Actor
from tests.web.helpers import csrf_of, intake, sign_in

VERDICT = re.compile(r'id="bundle-verdict">([^<]+)<')


def _export(client: TestClient, case: str, csrf: str, *, with_content: bool = True) -> bytes:
    r = client.post(
        f"/cases/{case}/export",
        data={
            "csrf": csrf,
            "purpose": "for the court",
            **({"with_content": "1"} if with_content else {}),
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    return r.content


def _check(client: TestClient, csrf: str, bundle: bytes, key: str) -> TestClient:
    return client.post(  # type: ignore[return-value]
        "/check",
        data={"csrf": csrf, "trusted_key": key},
        files={"bundle": ("bundle.zip", bundle, "application/zip")},
    )


def test_an_exported_zip_verifies_with_the_labs_key_and_holds_the_content(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    csrf = sign_in(client, technician)
    intake(client, case, b"seized phone extraction" * 1000, csrf, filename="phone.tar")
    bundle = _export(client, case, csrf)
    names = zipfile.ZipFile(io.BytesIO(bundle)).namelist()
    assert any(n.endswith("/content/phone.tar") for n in names)
    assert any(n.endswith("/bagit.txt") for n in names)
    assert not list((ctx.settings.data_dir / "web-tmp").iterdir())  # removed once sent
    key = ctx.signing_key.verifier().to_text()
    r = _check(client, csrf, bundle, key)
    assert r.status_code == 200
    assert VERDICT.search(r.text).group(1) in ("数据包核验通过", "the bundle verifies")
    assert "FAIL" not in re.sub(r"FAIL:", "", r.text.split('id="bundle-lines"')[1])


def test_the_export_and_each_download_are_recorded_with_the_purpose(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    import json

    from sqlalchemy import select

    from custody.models import LedgerEntry

    csrf = sign_in(client, technician)
    ev = intake(client, case, b"bank statement", csrf)
    _export(client, case, csrf)
    with ctx.session() as db:
        values = [json.loads(r.canonical) for r in db.execute(select(LedgerEntry)).scalars()]
    export = [v for v in values if v["action"] == "case.export"]
    downloads = [v for v in values if v["action"] == "evidence.download"]
    assert len(export) == 1 and export[0]["details"]["purpose"] == "for the court"
    assert [(d["evidence"], d["details"]["purpose"]) for d in downloads] == [
        (ev["id"], "for the court")
    ]


def test_a_key_other_than_the_labs_fails_every_signature_check(
    client: TestClient, technician: Actor, case: str
) -> None:
    csrf = sign_in(client, technician)
    intake(client, case, b"x" * 1000, csrf)
    bundle = _export(client, case, csrf, with_content=False)
    stranger = SigningKey.generate("test.custody.example/ledger").verifier().to_text()
    r = _check(client, csrf, bundle, stranger)
    assert VERDICT.search(r.text).group(1) in ("数据包核验不通过", "the bundle does NOT verify")
    assert r.text.count('class="status-fail"') >= 1


def test_bad_input_is_a_clear_error_page(client: TestClient, technician: Actor) -> None:
    csrf = sign_in(client, technician)
    r = _check(client, csrf, b"not a zip", "name+00000000+AAAA")
    assert r.status_code == 400 and "trusted key is malformed" in r.text
    r = client.post(
        "/check",
        data={"csrf": csrf, "trusted_key": "/etc/passwd"},  # a path is never read
        files={"bundle": ("b.zip", b"PK", "application/zip")},
    )
    assert r.status_code == 400 and "root:" not in r.text


def test_the_case_report_is_a_signed_pdf(client: TestClient, technician: Actor, case: str) -> None:
    csrf = sign_in(client, technician)
    intake(client, case, b"x" * 10, csrf)
    r = client.post(f"/cases/{case}/case-report", data={"csrf": csrf, "purpose": "hearing"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert b"/ByteRange" in r.content  # PAdES-signed


def test_a_forged_report_is_not_rendered_as_a_pdf(
    client: TestClient, technician: Actor, case: str
) -> None:
    import base64

    csrf = sign_in(client, technician)
    ev = intake(client, case, b"x" * 10, csrf)
    page = client.post(f"/evidence/{ev['id']}/verify", data={"csrf": csrf}).text
    report = re.search(r'name="report" value="([^"]+)"', page).group(1)
    signature = re.search(r'name="signature" value="([^"]+)"', page, re.S).group(1)
    forged = base64.b64decode(report).replace(b'"result":"pass"', b'"result":"fail"')
    r = client.post(
        f"/evidence/{ev['id']}/report.pdf",
        data={"csrf": csrf, "report": base64.b64encode(forged).decode(), "signature": signature},
    )
    assert r.status_code == 400 and "not one the service signed" in r.text
    ok = client.post(
        f"/evidence/{ev['id']}/report.pdf",
        data={"csrf": csrf, "report": report, "signature": signature},
    )
    assert ok.status_code == 200 and ok.content.startswith(b"%PDF-")
    assert csrf_of(client.get("/cases").text)
