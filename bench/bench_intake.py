"""Intake throughput through the real HTTP path, as a ratio to ``openssl dgst -sha256``.

The real server process (local WORM store, SQLite) receives a raw streamed upload of an
N MiB file from the CLI's own upload code; the reference is openssl hashing the same file
in the same run. With ``--s3`` the same is done against a SeaweedFS S3 server with Object
Lock, compared with a plain ``fput_object`` of the file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

RESULTS = Path(__file__).with_name("results.md")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    for _ in range(600):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
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
    token = r.json()["token"]
    httpx.post(
        f"{url}/api/v1/cases",
        json={"number": "BENCH", "title": "bench"},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    return proc, url, token


def _upload(url: str, token: str, path: Path) -> float:
    def body():  # type: ignore[no-untyped-def]
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                yield chunk

    start = time.perf_counter()
    r = httpx.post(
        f"{url}/api/v1/evidence",
        params={"metadata": json.dumps({"case": "BENCH", "filename": path.name})},
        content=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(path.stat().st_size),
        },
        timeout=None,
    )
    r.raise_for_status()
    return time.perf_counter() - start


def _openssl(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True)
    return time.perf_counter() - start


def _dd_fsync(path: Path, out: Path) -> float:
    """A durable copy of the same file: the disk's own limit for a durable intake."""
    start = time.perf_counter()
    subprocess.run(
        ["dd", f"if={path}", f"of={out}", "bs=1M", "conv=fsync", "status=none"], check=True
    )
    elapsed = time.perf_counter() - start
    out.unlink()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = work / "image.dd"
        with image.open("wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1024 * 1024))
        size = image.stat().st_size
        ref = min(_openssl(image) for _ in range(3))
        disk = min(_dd_fsync(image, work / "copy.dd") for _ in range(3))
        server, url, token = _serve(work / "var")
        # Distinct content each round so every upload is really stored.
        times = []
        for i in range(3):
            with image.open("r+b") as f:
                f.write(i.to_bytes(8, "big"))
            times.append(_upload(url, token, image))
        server.terminate()
        server.wait(timeout=30)
        ours = min(times)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows = [
            ("openssl dgst -sha256 (reference)", size / ref / 1e6, 1.0),
            ("dd conv=fsync copy (durable-write reference)", size / disk / 1e6, ref / disk),
            ("HTTP intake, local WORM + SQLite", size / ours / 1e6, ref / ours),
        ]
        table = ["| run | MB/s | ÷ openssl | ÷ dd+fsync |", "|---|---:|---:|---:|"]
        table += [
            f"| {name} | {mbs:.0f} | {ratio:.2f} | {mbs / (size / disk / 1e6):.2f} |"
            for name, mbs, ratio in rows
        ]
        text = (
            f"\n## intake ({args.size_mib} MiB, raw streamed body, best of 3)\n\n"
            + "\n".join(table)
            + f"\n\nPeak RSS of the server process: {rss:.0f} MiB\n"
        )
        print(text)
        with RESULTS.open("a") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
