"""Finding 3: kill -9 at any point of an intake leaves, after a restart and its sweep, no
staging file and no stored object that the register does not know.

A real ``custody serve`` process on a free loopback port is killed with SIGKILL at two
points, each reached by a barrier rather than a clock:

* in the middle of a large streamed body: the client's generator stops sending after
  some MiB and the test waits until the server's staging file holds them;
* between "stored and locked" and "committed": the test holds the SQLite write lock, so
  the server's commit waits on it; the test waits for the object and its lock record to
  appear, then kills.

After a restart the start-up sweep has run before ``/healthz`` answers; the real CLI's
``custody storage orphans --json`` then lists every stored object that no evidence
record references, and each must be registered.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import httpx
import pytest

from tests.server_process import Server, wait_for

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
CASE = "2026-XS-0117"
DEADLINE = 60.0


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


def setup_technician(server: Server) -> str:
    tech = server.enrol("li.wei", role="technician", department="forensics")
    r = server.cli("case", "create", CASE, "--title", "Zhang et al.", token=tech)
    assert r.returncode == 0, r.stderr
    return tech


def staging_files(data_dir: Path) -> list[Path]:
    staging = data_dir / "store" / ".staging"
    return [p for p in staging.iterdir() if p.is_file()] if staging.is_dir() else []


def stored_objects(data_dir: Path) -> list[str]:
    root = data_dir / "store"
    return sorted(
        str(p.relative_to(root))
        for p in (root / "objects").rglob("*")
        if p.is_file() and len(p.name) == 64
    )


def orphans(server: Server) -> dict[str, Any]:
    r = server.cli("storage", "orphans", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    result: dict[str, Any] = json.loads(r.stdout)
    return result


def referenced_keys(data_dir: Path) -> set[str]:
    """The object keys evidence records reference, read from the server's database."""
    db = sqlite3.connect(f"file:{data_dir / 'custody.db'}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT object_key FROM evidence")}
    finally:
        db.close()


def assert_every_object_is_known(server: Server) -> dict[str, Any]:
    """No staging file; each stored object is referenced or a registered orphan."""
    assert staging_files(server.data_dir) == []
    listed = orphans(server)
    assert listed["unregistered"] == 0, listed
    known = {o["object_key"] for o in listed["orphans"] if o["registered"]}
    known |= referenced_keys(server.data_dir)
    unknown = [k for k in stored_objects(server.data_dir) if k not in known]
    assert unknown == [], "stored, but neither referenced nor registered"
    return listed


class Feeder:
    """A request body that sends ``before`` MiB, then waits until released."""

    def __init__(self, before: int, after: int) -> None:
        self.before, self.after = before, after
        self.release = threading.Event()
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        block = os.urandom(MiB)
        for i in range(self.before + self.after):
            if i == self.before:
                self.release.wait(DEADLINE)
            self.sent += 1
            yield block


def post_in_background(server: Server, token: str, body: Any) -> threading.Thread:
    def run() -> None:
        try:
            httpx.post(
                f"{server.url}/api/v1/evidence",
                params={"metadata": json.dumps({"case": CASE, "filename": "disk.img"})},
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/octet-stream",
                },
                timeout=DEADLINE,
            )
        except httpx.HTTPError:
            pass  # the server was killed under it: that is the point

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(300)
def test_kill9_mid_stream_leaves_no_staging_file_after_restart(
    tmp_path: Path, servers: list[Server]
) -> None:
    data_dir = tmp_path / "var"
    server = Server(data_dir, origin="crash.custody.example/ledger")
    servers.append(server)
    tech = setup_technician(server)

    feeder = Feeder(before=48, after=48)
    client = post_in_background(server, tech, feeder)
    wait_for(
        lambda: any(p.stat().st_size >= 32 * MiB for p in staging_files(data_dir)),
        "the staging file to hold 32 MiB",
    )
    server.kill9()
    feeder.release.set()
    client.join(DEADLINE)
    [leftover] = staging_files(data_dir)  # what finding 3 found left behind for good
    assert leftover.name.startswith("upload-")

    server = Server(
        data_dir, origin="crash.custody.example/ledger", CUSTODY_STAGING_MAX_AGE_SECONDS="0"
    )
    servers.append(server)
    assert not leftover.exists()
    listed = assert_every_object_is_known(server)
    assert listed["count"] == 0  # nothing had been filed, so nothing is unreferenced


@pytest.mark.timeout(300)
def test_kill9_between_store_and_commit_leaves_a_registered_object_that_is_reused(
    tmp_path: Path, servers: list[Server]
) -> None:
    data_dir = tmp_path / "var"
    server = Server(data_dir, origin="crash.custody.example/ledger")
    servers.append(server)
    tech = setup_technician(server)

    data = os.urandom(3 * MiB + 17)
    key = f"objects/blake3/{blake3.blake3(data).hexdigest()[:2]}/"
    key += f"{blake3.blake3(data).hexdigest()[2:4]}/{blake3.blake3(data).hexdigest()}"
    lock_record = data_dir / "store" / (key + ".lock.json")
    # hold the database's write lock: the server's commit will wait on it
    db = sqlite3.connect(data_dir / "custody.db", timeout=30, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        client = post_in_background(server, tech, data)
        wait_for(lock_record.exists, "the object to be stored and locked")
        server.kill9()
    finally:
        db.execute("ROLLBACK")
        db.close()
    client.join(DEADLINE)
    assert stored_objects(data_dir) == [key]

    server = Server(
        data_dir, origin="crash.custody.example/ledger", CUSTODY_STAGING_MAX_AGE_SECONDS="0"
    )
    servers.append(server)
    listed = assert_every_object_is_known(server)
    [orphan] = listed["orphans"]
    assert orphan["object_key"] == key and orphan["registered"] and orphan["present"]
    assert orphan["sources"] == ["ledger"]
    assert orphan["retain_until"] is not None  # locked: it cannot be deleted, only known

    image = tmp_path / "disk.img"
    image.write_bytes(data)
    r = server.cli("intake", str(image), "--case", CASE, "--json", token=tech)
    assert r.returncode == 0, r.stdout + r.stderr
    assert stored_objects(data_dir) == [key]  # stored once, now referenced
    assert orphans(server)["count"] == 0
