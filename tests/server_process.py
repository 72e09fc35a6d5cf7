"""``custody serve`` as a real process, and the real CLI run against it in subprocesses.

One helper for every end-to-end test that needs a server it can stop, kill -9 and restart,
with accounts enrolled the way a person enrols (administrator's code, then the account's
own token).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll until ``condition`` holds (bounded); no test passes on elapsed time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """``custody serve`` in its own process group on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        *,
        origin: str = "e2e.custody.example/ledger",
        port: int | None = None,  # a restart on the same address
        **env: str,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "CUSTODY_DATA_DIR": str(data_dir),
            "CUSTODY_LEDGER_ORIGIN": origin,
            "CUSTODY_URL": self.url,
            **env,
        }
        self.env.pop("CUSTODY_TOKEN", None)
        if "CUSTODY_DATABASE_URL" not in env:
            self.env.pop("CUSTODY_DATABASE_URL", None)
        self.log_path = data_dir.parent / "server.log"
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up() -> bool:
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, "the server to answer")

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **({"CUSTODY_TOKEN": token} if token else {})}
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def enrol(self, name: str, *, role: str, department: str, clearance: str = "secret") -> str:
        """Create an account with the administrator's token and return the account's own
        token, exchanged for its one-time enrolment code as its holder would."""
        r = self.cli(
            "account", "create", name, "--role", role, "--department", department,
            "--clearance", clearance, "--print-code", token=self.admin_token,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        r = self.cli("account", "enrol", name, r.stdout.strip(), "--print-token")
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()
