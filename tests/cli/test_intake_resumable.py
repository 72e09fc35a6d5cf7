"""``custody intake --resumable`` (issue 15): tus uploads that survive a server restart.

The first tests run the real CLI against the real app under uvicorn; the last one runs
``custody serve`` and ``custody intake`` as real processes, kills the server with SIGKILL
at about 60 % of a 512 MiB upload, restarts it on the same data dir and port, and checks
that the CLI resumed, the digests are openssl's, and it sent at most 1.1 × the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from custody.ledger import Action
from tests.api.test_intake import counts
from tests.cli.served import Served
from tests.server_process import Server, wait_for


def test_resumable_intake_prints_what_the_plain_intake_prints(
    served: Served, tmp_path: Path
) -> None:
    served.create_case("2026-TUS-1")
    data = os.urandom(3 * 1024 * 1024 + 7)
    f = tmp_path / "phone.bin"
    f.write_bytes(data)
    before = counts(served.ctx)
    r = served.cli("intake", str(f), "--case", "2026-TUS-1", "--resumable", "--json")
    assert r.exit_code == 0, r.output
    ev = json.loads(r.stdout)
    assert ev["digests"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert ev["local_digests"]["sha256"] == ev["digests"]["sha256"]
    assert ev["differences"] == []
    assert ev["bytes_sent"] == len(data)
    assert ev["resumed"] == []
    assert served.uploads() == 0  # not the raw-body route
    assert counts(served.ctx)[2][before[1] :] == [Action.INTAKE]
    r = served.cli("intake", str(f), "--case", "2026-TUS-1", "--resumable")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("OK ")
    assert f"SHA256  {hashlib.sha256(data).hexdigest()}" in r.stdout


def test_resumable_intake_with_a_wrong_declared_sha256_fails_like_the_plain_one(
    served: Served, tmp_path: Path
) -> None:
    served.create_case("2026-TUS-2")
    f = tmp_path / "a.bin"
    f.write_bytes(b"seized" * 1000)
    wrong = hashlib.sha256(b"other").hexdigest()
    plain = served.cli("intake", str(f), "--case", "2026-TUS-2", "--sha256", wrong, "--json")
    tus = served.cli(
        "intake", str(f), "--case", "2026-TUS-2", "--sha256", wrong, "--resumable", "--json"
    )
    assert tus.exit_code == plain.exit_code != 0
    assert json.loads(tus.stdout)["code"] == json.loads(plain.stdout)["code"]


def test_resumable_intake_without_a_server_exits_3_after_bounded_retries(
    tmp_path: Path,
) -> None:
    from tests.server_process import free_port

    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 100)
    env = {**os.environ, "CUSTODY_URL": f"http://127.0.0.1:{free_port()}", "CUSTODY_TOKEN": "t"}
    started = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "cli.main", "intake", str(f), "--case", "C-1", "--resumable",
         "--retries", "2", "--retry-delay", "0.1", "--json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 3, r.stdout + r.stderr
    assert time.monotonic() - started < 30


SIZE = 512 * 1024 * 1024


def openssl_sha256(path: Path) -> str:
    r = subprocess.run(
        ["openssl", "dgst", "-sha256", "-r", str(path)], capture_output=True, text=True, check=True
    )
    return r.stdout.split()[0].lower()


def staged_size(data_dir: Path) -> int:
    staged = list((data_dir / "uploads").glob("*.part"))
    return max((p.stat().st_size for p in staged), default=0)


def backend_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The server's storage: the local WORM store, or S3 Object Lock on the test SeaweedFS."""
    if backend == "local":
        return {}
    s3 = request.getfixturevalue("seaweed_s3")
    return {
        "CUSTODY_STORAGE": "s3",
        "CUSTODY_S3_ENDPOINT": s3.endpoint,
        "CUSTODY_S3_ACCESS_KEY": s3.access_key,
        "CUSTODY_S3_SECRET_KEY": s3.secret_key,
        "CUSTODY_S3_BUCKET": f"evidence-{uuid.uuid4().hex[:10]}",
        "CUSTODY_S3_CREATE_BUCKET": "true",
    }


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_kill_9_at_60_percent_of_512_mib_then_restart_the_cli_resumes(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    storage = backend_env(backend, request)
    big = tmp_path / "disk.img"
    with big.open("wb") as f:
        for _ in range(SIZE // (16 * 1024 * 1024)):
            f.write(os.urandom(16 * 1024 * 1024))
    data_dir = tmp_path / "var"
    server = Server(data_dir, **storage)
    port = server.port
    try:
        tech = server.enrol("li.wei", role="technician", department="forensics")
        r = server.cli("case", "create", "2026-KILL-1", "--title", "kill -9", token=tech)
        assert r.returncode == 0, r.stdout + r.stderr
        cli = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "intake", str(big), "--case", "2026-KILL-1",
             "--json"],
            env={**server.env, "CUSTODY_TOKEN": tech},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for(lambda: staged_size(data_dir) >= 0.6 * SIZE, "60 % staged", timeout=90)
        server.kill9()
        killed_at = staged_size(data_dir)
        assert killed_at < SIZE
        server = Server(data_dir, port=port, **storage)
        stdout, stderr = cli.communicate(timeout=120)
        assert cli.returncode == 0, stdout + stderr
        assert "resumed at " in stderr and f" of {SIZE} bytes (attempt " in stderr, stderr
        ev = json.loads(stdout)
        assert ev["resumed"], ev["resumed"]
        assert ev["resumed"][0]["offset"] > 0.5 * SIZE  # from the durable offset, not zero
        expected = openssl_sha256(big)
        assert ev["digests"]["sha256"] == expected
        assert ev["local_digests"]["sha256"] == expected
        assert ev["size"] == SIZE
        assert ev["differences"] == []
        assert ev["bytes_sent"] <= 1.1 * SIZE, ev["bytes_sent"]
        print(f"killed at {killed_at}, resumed {ev['resumed']}, sent {ev['bytes_sent']}")
        assert not list((data_dir / "uploads").glob("*.part"))  # the staged file is gone
        r = server.cli("evidence", "show", ev["id"], "--json", token=tech)
        shown = json.loads(r.stdout)
        assert shown["digests"]["sha256"] == expected
        assert shown["storage"] == ("s3" if backend == "s3" else "local")
    finally:
        server.stop()
