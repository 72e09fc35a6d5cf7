"""Issue 10, findings 6 and 7: downloads are header-safe whatever was recorded, and the
ledger records what was delivered, including a download cut off by the client.

The live tests run the real server (``custody serve``, uvicorn with h11) in a subprocess on
a free loopback port: h11 is what dropped the connection on a CR/LF header, and only a real
socket can be closed after N bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from api.app import create_app
from api.context import AppContext, build_context
from api.headers import content_disposition, safe_media_type
from custody.ledger import Action
from custody.models import LedgerEntry
from tests.conftest import Actor, add_account, free_port, make_settings

EVIL_NAME = "seized\r\nX-Evil: 1\x07\x1b.img"
EVIL_TYPE = "text/html\r\nSet-Cookie: session=stolen"
BIG = 64 * 1024 * 1024  # far more than loopback socket buffers hold, so a cut is a cut
CUT_AFTER = 1024 * 1024


def ledger(ctx_or_url: AppContext | str, evidence_id: str) -> list[dict[str, Any]]:
    if isinstance(ctx_or_url, str):
        engine = create_engine(ctx_or_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(LedgerEntry.canonical)
                    .where(LedgerEntry.evidence_id == evidence_id)
                    .order_by(LedgerEntry.seq)
                ).all()
        finally:
            engine.dispose()
        return [json.loads(r[0]) for r in rows]
    with ctx_or_url.session() as s:
        entries = s.execute(
            select(LedgerEntry)
            .where(LedgerEntry.evidence_id == evidence_id)
            .order_by(LedgerEntry.seq)
        ).scalars()
        return [json.loads(e.canonical) for e in entries]


def intake(client: TestClient, tech: Actor, case: str, data: bytes, **meta: Any) -> str:
    r = client.post(
        "/api/v1/evidence",
        files=[
            ("metadata", (None, json.dumps({"case": case, **meta}))),
            ("file", ("ignored", data)),
        ],
        headers=tech.headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def assert_header_safe(headers: httpx.Headers) -> None:
    for name, value in headers.items():
        assert all(" " <= ch <= "~" for ch in name + value), (name, value)
    assert "x-evil" not in headers and "set-cookie" not in headers


# --- finding 6: headers are always safe -------------------------------------------------


def test_finding6_crlf_in_filename_and_content_type_is_kept_and_the_download_works(
    client: TestClient, ctx: AppContext, technician: Actor, case: str
) -> None:
    data = os.urandom(200_000)
    evidence_id = intake(client, technician, case, data, filename=EVIL_NAME, content_type=EVIL_TYPE)
    shown = client.get(f"/api/v1/evidence/{evidence_id}", headers=technician.headers).json()
    assert shown["original_filename"] == EVIL_NAME  # the record keeps it verbatim
    assert shown["content_type"] == EVIL_TYPE
    r = client.get(
        f"/api/v1/evidence/{evidence_id}/content",
        params={"purpose": "expert review"},
        headers=technician.headers,
    )
    assert r.status_code == 200
    assert r.content == data
    assert_header_safe(r.headers)
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-content-type-options"] == "nosniff"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="seized__X-Evil: 1__.img"; ')
    exact = disposition.split("filename*=UTF-8''", 1)[1]
    assert urllib.parse.unquote(exact) == EVIL_NAME


@pytest.mark.parametrize(
    ("recorded", "served"),
    [
        ("image/png", "image/png"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ('multipart/mixed; boundary="a b"', 'multipart/mixed; boundary="a b"'),
        ("image/png\r\nX: y", "application/octet-stream"),
        ("not a type", "application/octet-stream"),
        ("image/", "application/octet-stream"),
        ("图片/png", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_finding6_only_a_valid_mime_type_reaches_the_header(recorded: str, served: str) -> None:
    assert safe_media_type(recorded) == served


@pytest.mark.parametrize(
    ("name", "fallback", "exact"),
    [
        ("disk.img", "disk.img", "disk.img"),
        ("../../etc/passwd", "passwd", "passwd"),
        ("C:\\cases\\手机镜像.tar", "____.tar", "手机镜像.tar"),
        ('a"b%c\\d', "d", "d"),
        ('q"uote%.img', "q_uote_.img", 'q"uote%.img'),
        ("..", "evidence.bin", "evidence.bin"),
        ("line\r\nbreak", "line__break", "line\r\nbreak"),
    ],
)
def test_finding6_content_disposition_is_rfc6266(name: str, fallback: str, exact: str) -> None:
    header = content_disposition(name)
    assert all(" " <= ch <= "~" for ch in header)
    assert header.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
    assert urllib.parse.unquote(header.split("''", 1)[1]) == exact


# --- the live server --------------------------------------------------------------------


@dataclass
class Live:
    url: str
    port: int
    db_url: str
    tech: Actor
    big: str
    big_sha256: str
    evil: str
    evil_data: bytes


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """Evidence taken in through the app, then the real server started on that data dir."""
    settings = make_settings(tmp_path)
    ctx = build_context(settings)
    tech = add_account(ctx, "li.wei", role="technician", department="forensics")
    big_data = os.urandom(BIG)
    evil_data = os.urandom(300_000)
    with TestClient(create_app(context=ctx)) as client:
        r = client.post(
            "/api/v1/cases", json={"number": "DL-1", "title": "downloads"}, headers=tech.headers
        )
        assert r.status_code == 201, r.text
        big = intake(client, tech, "DL-1", big_data, filename="disk.img")
        evil = intake(client, tech, "DL-1", evil_data, filename=EVIL_NAME, content_type=EVIL_TYPE)
    ctx.engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "CUSTODY_DATA_DIR": str(settings.data_dir),
        "CUSTODY_LEDGER_ORIGIN": settings.ledger_origin,
        "CUSTODY_EXTRA_DIGESTS": settings.extra_digests,
        "CUSTODY_RETENTION_DAYS": str(settings.retention_days),
    }
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield Live(
            url=url,
            port=port,
            db_url=settings.resolved_database_url,
            tech=tech,
            big=big,
            big_sha256=hashlib.sha256(big_data).hexdigest(),
            evil=evil,
            evil_data=evil_data,
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()


def wait_for_end(live: Live, evidence_id: str, download_id: str) -> dict[str, Any]:
    """The server appends the end entry once the stream is over; wait for it (bounded)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for e in ledger(live.db_url, evidence_id):
            if e["action"] == Action.DOWNLOAD_ENDED and e["details"]["download_id"] == download_id:
                return e
        time.sleep(0.1)
    raise AssertionError(f"no {Action.DOWNLOAD_ENDED} entry for download {download_id}")


def started_entry(live: Live, evidence_id: str) -> dict[str, Any]:
    entries = [e for e in ledger(live.db_url, evidence_id) if e["action"] == Action.DOWNLOAD]
    return entries[-1]


@pytest.mark.slow
def test_finding7_interrupted_download_records_the_bytes_actually_sent(live: Live) -> None:
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=30)
    sock.sendall(
        (
            f"GET /api/v1/evidence/{live.big}/content?purpose=partial+review HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {live.tech.token}\r\n\r\n"
        ).encode()
    )
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, body = buffer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    while len(body) < CUT_AFTER:
        body += sock.recv(65536)
    received = len(body)
    # The attempt was on the ledger before the first byte left.
    started = started_entry(live, live.big)
    assert started["details"]["purpose"] == "partial review"
    assert started["details"]["object_size"] == BIG
    # Close hard (RST) mid-stream.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    ended = wait_for_end(live, live.big, started["details"]["download_id"])
    details = ended["details"]
    assert details["complete"] is False
    assert received <= details["bytes_sent"] < BIG
    assert details["size"] == BIG
    assert ended["actor"] == live.tech.name and ended["case"] == "DL-1"


@pytest.mark.slow
def test_finding7_completed_download_records_its_bytes(live: Live) -> None:
    digest = hashlib.sha256()
    with httpx.stream(
        "GET",
        f"{live.url}/api/v1/evidence/{live.big}/content",
        params={"purpose": "full copy for the court"},
        headers=live.tech.headers,
        timeout=60,
    ) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == live.big_sha256
    started = started_entry(live, live.big)
    ended = wait_for_end(live, live.big, started["details"]["download_id"])
    assert ended["details"] == {
        "download_id": started["details"]["download_id"],
        "bytes_sent": BIG,
        "size": BIG,
        "complete": True,
    }


@pytest.mark.slow
def test_finding6_crlf_filename_downloads_over_a_real_http_server(live: Live) -> None:
    """h11 refused the header and dropped the connection; now the header is safe."""
    r = httpx.get(
        f"{live.url}/api/v1/evidence/{live.evil}/content",
        params={"purpose": "court copy"},
        headers=live.tech.headers,
        timeout=60,
    )
    assert r.status_code == 200
    assert r.content == live.evil_data
    assert_header_safe(r.headers)
    assert r.headers["content-type"] == "application/octet-stream"
    exact = r.headers["content-disposition"].split("filename*=UTF-8''", 1)[1]
    assert urllib.parse.unquote(exact) == EVIL_NAME
    started = started_entry(live, live.evil)
    ended = wait_for_end(live, live.evil, started["details"]["download_id"])
    assert ended["details"]["complete"] is True
