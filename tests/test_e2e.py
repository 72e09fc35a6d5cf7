"""End to end: the real server process, driven by the real CLI in subprocesses."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import blake3
import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "CUSTODY_DATA_DIR": str(data_dir),
            "CUSTODY_LEDGER_ORIGIN": "e2e.custody.example/ledger",
            "CUSTODY_URL": self.url,
            **(env or {}),
        }
        self.env.pop("CUSTODY_TOKEN", None)
        self.log = (data_dir.parent / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                break
        raise RuntimeError("server did not start: " + (data_dir.parent / "server.log").read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if token:
            env["CUSTODY_TOKEN"] = token
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "var")
    yield srv
    srv.stop()


def test_walkthrough_intake_through_cli_records_independent_digests(
    server: Server, tmp_path: Path
) -> None:
    admin_token_file = server.data_dir / "admin.token"
    assert admin_token_file.stat().st_mode & 0o777 == 0o600
    assert (server.data_dir / "signing.key").stat().st_mode & 0o777 == 0o600
    admin = admin_token_file.read_text().strip()

    r = server.cli(
        "account",
        "create",
        "li.wei",
        "--role",
        "technician",
        "--department",
        "forensics",
        "--clearance",
        "secret",
        "--print-token",
        token=admin,
    )
    assert r.returncode == 0, r.stderr
    tech = r.stdout.strip()
    assert tech.startswith("cst_")

    r = server.cli(
        "case", "create", "2026-XS-0117", "--title", "Zhang et al., loan-sharking ring", token=tech
    )
    assert r.returncode == 0, r.stderr

    image = tmp_path / "disk.img"
    data = os.urandom(3 * 1024 * 1024 + 123)
    image.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    r = server.cli(
        "intake",
        str(image),
        "--case",
        "2026-XS-0117",
        "--sha256",
        sha256,
        "--seal-no",
        "F-0042",
        "--description",
        "Seagate 1 TB, seized 2026-11-20",
        "--json",
        token=tech,
    )
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["case"] == "2026-XS-0117"
    assert ev["size"] == len(data)
    assert ev["digests"]["sha256"] == sha256
    assert ev["digests"]["blake3"] == blake3.blake3(data).hexdigest()
    assert ev["digests"]["md5"] == hashlib.md5(data).hexdigest()
    assert ev["differences"] == []

    r = server.cli("evidence", "show", ev["id"], "--json", token=tech)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["seal_no"] == "F-0042"
    assert shown["digests"] == ev["digests"]

    r = server.cli("hash", str(image), "--json")
    assert r.returncode == 0, r.stderr
    offline = json.loads(r.stdout)[0]["digests"]
    assert offline["sha256"] == sha256
    assert offline["sm3"] == hashlib.new("sm3", data).hexdigest()

    # A wrong declared digest: refused, exit 1 (integrity problem), nothing recorded.
    r = server.cli("intake", str(image), "--case", "2026-XS-0117", "--sha256", "0" * 64, token=tech)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "does not match" in r.stderr

    # The auditor's view: the whole ledger verifies against the published key.
    key = httpx.get(
        f"{server.url}/api/v1/ledger/key", headers={"Authorization": f"Bearer {admin}"}
    ).text.strip()
    r = server.cli("ledger", "verify", "--trusted-key", key, token=admin)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK:" in r.stdout

    # Unknown case: usage error (2). Server down: exit 3.
    r = server.cli("intake", str(image), "--case", "NOPE", token=tech)
    assert r.returncode == 2, r.stderr
    server.stop()
    r = server.cli("case", "list", token=tech)
    assert r.returncode == 3, r.stderr
    assert "cannot reach" in r.stderr


def _setup_case(server: Server, tmp_path: Path) -> tuple[str, str, dict[str, object], Path]:
    admin = (server.data_dir / "admin.token").read_text().strip()
    tech = server.cli(
        "account",
        "create",
        "li.wei",
        "--role",
        "technician",
        "--department",
        "forensics",
        "--clearance",
        "secret",
        "--print-token",
        token=admin,
    ).stdout.strip()
    assert (
        server.cli(
            "case", "create", "2026-XS-0117", "--title", "张某等人放贷案", token=tech
        ).returncode
        == 0
    )
    image = tmp_path / "phone.tar"
    image.write_bytes(os.urandom(1024 * 1024 + 5))
    r = server.cli(
        "intake", str(image), "--case", "2026-XS-0117", "--seal-no", "F-7", "--json", token=tech
    )
    assert r.returncode == 0, r.stderr
    return admin, tech, json.loads(r.stdout), image


def test_court_bundle_verifies_offline_and_bundles_prove_growth(
    server: Server, tmp_path: Path
) -> None:
    admin, tech, ev, image = _setup_case(server, tmp_path)
    key_file = tmp_path / "court.key"
    key_file.write_text(
        httpx.get(
            f"{server.url}/api/v1/ledger/key", headers={"Authorization": f"Bearer {admin}"}
        ).text
    )
    first = tmp_path / "bundle-1"
    r = server.cli(
        "export",
        "2026-XS-0117",
        "--out",
        str(first),
        "--with-content",
        "--purpose",
        "transfer to the court",
        token=tech,
    )
    assert r.returncode == 0, r.stdout + r.stderr

    # Offline, with our tool: only the trusted key.
    r = server.cli("verify-bundle", str(first), "--trusted-key", str(key_file))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout and "OK:" in r.stdout
    # Offline, with other people's tools.
    bagit_py = Path(sys.executable).with_name("bagit.py")
    r = subprocess.run([str(bagit_py), "--validate", str(first)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    data_dir = first / "data"
    r = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=data_dir, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    content = list((data_dir / "evidence" / str(ev["id"]) / "content").iterdir())
    assert [p.read_bytes() for p in content] == [image.read_bytes()]

    # More custody happens; a second bundle a month later.
    assert server.cli("verify", str(ev["id"]), token=tech).returncode == 0
    second = tmp_path / "bundle-2"
    r = server.cli(
        "export", "2026-XS-0117", "--out", str(second), "--purpose", "appeal", token=tech
    )
    assert r.returncode == 0, r.stderr
    r = server.cli(
        "ledger",
        "consistency",
        str(first / "data/ledger/checkpoint.txt"),
        str(second / "data/ledger/checkpoint.txt"),
        "--trusted-key",
        str(key_file),
        token=tech,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "extends" in r.stdout
    # Without content, verification takes the content from elsewhere.
    r = server.cli(
        "verify-bundle",
        str(second),
        "--trusted-key",
        str(key_file),
        "--content-dir",
        str(image.parent),
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_fixity_run_names_a_flipped_byte(server: Server, tmp_path: Path) -> None:
    _, tech, ev, _ = _setup_case(server, tmp_path)
    r = server.cli("fixity", "run", "--all", "--json", token=tech)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["passed"] == 1
    stored = server.data_dir / "store" / str(ev["object_key"])
    stored.chmod(0o644)
    raw = bytearray(stored.read_bytes())
    raw[-1] ^= 0xFF
    stored.write_bytes(bytes(raw))
    r = server.cli("fixity", "run", "--case", "2026-XS-0117", token=tech)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL" in r.stdout and "stored bytes changed" in r.stdout


def test_server_refuses_to_start_without_reachable_locked_storage(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUSTODY_DATA_DIR": str(tmp_path / "var"),
        "CUSTODY_STORAGE": "s3",
        "CUSTODY_S3_ENDPOINT": f"127.0.0.1:{free_port()}",  # nobody listens there
        "CUSTODY_S3_ACCESS_KEY": "k",
        "CUSTODY_S3_SECRET_KEY": "do-not-print-me",
    }
    r = subprocess.run(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 3, r.stdout + r.stderr
    assert "unreachable" in r.stderr and "CUSTODY_S3_ENDPOINT" in r.stderr
    assert "do-not-print-me" not in r.stdout + r.stderr


def test_intake_with_prehash_declares_blake3(server: Server, tmp_path: Path) -> None:
    _, tech, _, _ = _setup_case(server, tmp_path)
    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(2 * 1024 * 1024))
    r = server.cli(
        "intake", str(other), "--case", "2026-XS-0117", "--prehash", "--json", token=tech
    )
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["declared_digests"] == {"blake3": blake3.blake3(other.read_bytes()).hexdigest()}
    r = server.cli(
        "intake", str(other), "--case", "2026-XS-0117", "--blake3", "ab" * 32, token=tech
    )
    assert r.returncode == 1 and "does not match" in r.stderr
