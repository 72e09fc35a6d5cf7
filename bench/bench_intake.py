"""Intake through the real server process (local WORM store, SQLite), issue 15 targets.

    python -m bench.bench_intake [--size-mib N] [--rss-mib SMALL BIG] [--repeat R]

Rows (each a ratio measured in this run against its reference, best of R):

- raw body and multipart body (sent by curl, a client that takes little CPU from the server)
  and ``custody intake`` (the CLI in a subprocess) ÷ the durable limit,
  max(``openssl dgst -sha256``, ``dd bs=4M conv=fsync``) on the same file;
- the peak RSS (VmHWM) of a fresh server process over one intake of SMALL and of BIG MiB;
- 4 concurrent raw intakes: aggregate throughput ÷ that of one intake of the same size.

Each intake row also gives its stages alone: hashing (``hash_file``, the core of ``custody
hash`` without its start-up), the durable write (dd) and the HTTP receive (the same curl
upload to the same uvicorn reading the body into a sink: no hashing, storing or recording).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench.common import (
    MIB,
    Limit,
    Row,
    best,
    durable_limit,
    random_file,
    ratio_row,
    render,
    run,
    timed,
    touch_content,
)
from custody.digests import hash_file

BIN = Path(sys.executable).parent
RSS_LIMIT_MIB = 150
Upload = Callable[[str, str, Path], None]
RSS_FLAT_MIB = 10  # "flat in file size": the bigger intake may peak at most this much higher


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """The real server in its own process, so the client does not share its GIL."""
    port = _free_port()
    env = {**os.environ, "CUSTODY_DATA_DIR": str(data_dir), "CUSTODY_RETENTION_DAYS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_up(f"{url}/healthz")
    admin = {"Authorization": "Bearer " + (data_dir / "admin.token").read_text().strip()}
    r = httpx.post(
        f"{url}/api/v1/accounts",
        json={
            "name": "bench",
            "display_name": "bench",
            "role": "technician",
            "department": "lab",
            "clearance": "secret",
        },
        headers=admin,
    )
    r.raise_for_status()
    r = httpx.post(f"{url}/api/v1/enrolment", json={"account": "bench", "code": r.json()["code"]})
    r.raise_for_status()
    token = r.json()["token"]
    httpx.post(
        f"{url}/api/v1/cases",
        json={"number": "BENCH", "title": "bench"},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    return proc, url, token


def _sink() -> tuple[subprocess.Popen[bytes], str]:
    """bench.sink under uvicorn: the HTTP receive alone."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.sink:app", "--port", str(port),
         "--lifespan", "off", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_up(url)
    return proc, url


def _stop(proc: subprocess.Popen[bytes], data_dir: Path | None = None) -> None:
    """Stop the process; remove the server's data (gigabytes of stored evidence)."""
    proc.terminate()
    proc.wait(timeout=30)
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)


def _curl(url: str, token: str, *args: str) -> None:
    """curl as the client: it streams from the file and costs the server's cores little."""
    auth = f"Authorization: Bearer {token}"
    run(["curl", "-sS", "--fail", "-o", "/dev/null", "-H", auth, "-H", "Expect:", *args, url])


def upload_raw(url: str, token: str, path: Path) -> None:
    """The body is the evidence (``application/octet-stream``), metadata in the query."""
    query = urlencode({"metadata": json.dumps({"case": "BENCH", "filename": path.name})})
    _curl(f"{url}/api/v1/evidence?{query}", token, "-X", "POST",
          "-H", "Content-Type: application/octet-stream", "-T", str(path))  # fmt: skip


def upload_multipart(url: str, token: str, path: Path) -> None:
    """multipart/form-data: a ``metadata`` part, then the ``file`` part, streamed."""
    _curl(f"{url}/api/v1/evidence", token, "--form-string", 'metadata={"case": "BENCH"}',
          "-F", f"file=@{path};type=application/octet-stream")  # fmt: skip


def cli_intake(url: str, token: str, path: Path) -> None:
    """``custody intake`` as a user runs it: a new process, default algorithms."""
    env = {**os.environ, "CUSTODY_URL": url, "CUSTODY_TOKEN": token}
    run([str(BIN / "custody"), "intake", str(path), "--case", "BENCH", "--json"], env=env)


def _measure(pid: int, fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall time of ``fn``, and how many cores the server process used meanwhile."""
    cpu, times = _cpu_seconds(pid), []
    for _ in range(max(1, repeat)):
        times.append(timed(fn))
    return min(times), (_cpu_seconds(pid) - cpu) / sum(times)


def _best_intake(server: subprocess.Popen[bytes], upload: Upload, url: str, token: str,
                 path: Path, repeat: int) -> tuple[float, float]:  # fmt: skip
    def once() -> None:
        touch_content(path)
        upload(url, token, path)

    return _measure(server.pid, once, repeat)


def _hashing(path: Path, algorithms: str, repeat: int) -> float:
    """Hashing alone: what ``custody hash`` does, in this process (no start-up)."""
    return best(lambda: hash_file(path, algorithms.split(",")), repeat)


def intake_rows(work: Path, image: Path, limit: Limit, repeat: int) -> list[Row]:
    """Raw, multipart and CLI intake of ``image``, each ÷ the durable limit on it."""
    sink, sink_url = _sink()
    try:
        http_alone = best(lambda: upload_raw(sink_url, "sink", image), repeat)
    finally:
        _stop(sink)
    data = work / "var-intake"
    server, url, token = _serve(data)
    try:
        raw = _best_intake(server, upload_raw, url, token, image, repeat)
        multipart = _best_intake(server, upload_multipart, url, token, image, repeat)
        cli = _best_intake(server, cli_intake, url, token, image, repeat)
    finally:
        _stop(server, data)
    hash_default = _hashing(image, "blake3,sha256", repeat)
    hash_cli = _hashing(image, "blake3,sha256,md5", repeat)
    cli_startup = best(lambda: run([str(BIN / "custody"), "intake", "--help"]), repeat)
    mb = image.stat().st_size / 1e6

    def detail(ours: tuple[float, float], hashing: float, algorithms: str) -> str:
        return (
            f"ours {ours[0]:.2f} s ({mb / ours[0]:.0f} MB/s, server on {ours[1]:.2f} cores), "
            f"{limit.describe()}; stages alone: hash {algorithms} {hashing:.2f} s, "
            f"HTTP receive {http_alone:.2f} s"
        )

    return [
        ratio_row(
            "raw-body intake (HTTP, octet-stream) ÷ durable limit",
            limit.seconds / raw[0],
            0.9,
            detail(raw, hash_default, "blake3+sha256"),
        ),
        ratio_row(
            "multipart intake ÷ durable limit",
            limit.seconds / multipart[0],
            0.85,
            detail(multipart, hash_default, "blake3+sha256"),
        ),
        ratio_row(
            "`custody intake` end to end (CLI subprocess, default algorithms) ÷ durable limit",
            limit.seconds / cli[0],
            0.8,
            detail(cli, hash_cli, "blake3+sha256+md5 (client and server each)")
            + f", CLI start-up (`custody intake --help`) {cli_startup:.2f} s",
        ),
    ]


def _vmhwm_mib(pid: int) -> float:
    """Peak resident set of a live process, from /proc (no psutil)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, all its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss(work: Path, size_mib: int) -> tuple[float, float]:
    """VmHWM of a fresh server before (start-up, set-up requests) and after one intake."""
    image = random_file(work / f"rss-{size_mib}.dd", size_mib)
    data = work / f"var-rss-{size_mib}"
    server, url, token = _serve(data)
    try:
        idle = _vmhwm_mib(server.pid)
        upload_raw(url, token, image)
        return idle, _vmhwm_mib(server.pid)
    finally:
        _stop(server, data)
        image.unlink()


def rss_row(work: Path, small_mib: int, big_mib: int) -> Row:
    """Peak RSS of a fresh server over one raw intake, at two sizes: small and flat?"""
    (idle, small), (_, big) = _peak_rss(work, small_mib), _peak_rss(work, big_mib)
    ok = big <= RSS_LIMIT_MIB and big - small <= RSS_FLAT_MIB
    return Row(
        f"server peak RSS (VmHWM) over a {big_mib} MiB intake",
        f"{big:.0f} MiB",
        f"≤ {RSS_LIMIT_MIB} MiB, flat (≤ +{RSS_FLAT_MIB} MiB vs {small_mib} MiB)",
        ok,
        f"{small:.0f} MiB at {small_mib} MiB, {big:.0f} MiB at {big_mib} MiB; {idle:.0f} MiB "
        "before the intake (fresh server for each size, raw-body intake)",
    )


def concurrent_row(work: Path, size_mib: int, repeat: int, clients: int = 4) -> Row:
    """``clients`` raw intakes at once (distinct files): aggregate ÷ one intake's throughput."""
    files = [random_file(work / f"concurrent-{i}.dd", size_mib) for i in range(clients)]
    data = work / "var-concurrent"
    server, url, token = _serve(data)
    try:
        one, one_cores = _best_intake(server, upload_raw, url, token, files[0], repeat)

        def together() -> None:
            for f in files:
                touch_content(f)
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(lambda f: upload_raw(url, token, f), files))

        many, cores = _measure(server.pid, together, repeat)
    finally:
        _stop(server, data)
        for f in files:
            f.unlink()
    mb = size_mib * MIB / 1e6
    ratio = clients * one / many  # (clients·mb/many) ÷ (mb/one)
    return ratio_row(
        f"{clients} concurrent intakes on {os.cpu_count()} cores ÷ one intake (aggregate MB/s)",
        ratio,
        1.5,
        f"one {size_mib} MiB intake {one:.2f} s ({mb / one:.0f} MB/s, server on "
        f"{one_cores:.2f} cores); {clients} at once {many:.2f} s ({clients * mb / many:.0f} "
        f"MB/s together, server on {cores:.2f} cores; cores = server CPU time ÷ wall time)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rss-mib", type=int, nargs=2, default=(1024, 4096))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = random_file(work / "image.dd", args.size_mib)
        limit = durable_limit(image, args.repeat)
        rows = intake_rows(work, image, limit, args.repeat)
        rows.append(rss_row(work, *args.rss_mib))
        rows.append(concurrent_row(work, args.size_mib, args.repeat))
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
