"""A real witness for tests: ``custody witness init`` and ``custody witness serve`` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server_process import free_port


def witness_init(directory: Path, name: str = "court.example/witness") -> str:
    """The new witness's verifier key (cosignature/v1)."""
    args = ["witness", "init", "--name", name, "--dir", str(directory), "--json"]
    r = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    key: str = json.loads(r.stdout)["witness_key"]
    return key


class WitnessProcess:
    """``custody witness serve`` on a free loopback port, until :meth:`stop`."""

    def __init__(self, directory: Path, log_keys: list[str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        args = [sys.executable, "-m", "cli.main", "witness", "serve", "--dir", str(directory)]
        for key in log_keys:
            args += ["--log-key", key]
        args += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.log = (directory.parent / f"witness-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(
            "witness did not start: " + (directory.parent / f"witness-{self.port}.log").read_text()
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()
