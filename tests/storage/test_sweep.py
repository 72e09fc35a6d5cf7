"""Finding 3: the staging sweep of each backend removes crash leftovers, and only those.

Ages are chosen with the cut-off, not with a clock: a cut-off in the past keeps
everything just made, one in the future treats it all as stale.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from minio import Minio

from custody.digests import MultiHasher
from custody.ledger import utc_now
from storage.base import ObjectStore
from storage.s3 import STAGING_PREFIX, S3ObjectLockStore, wire
from tests.storage.conftest import TEST_PART_SIZE


def put(store: ObjectStore, data: bytes) -> tuple[str, str | None]:
    stored = store.put(io.BytesIO(data), hasher=MultiHasher(["blake3", "sha256"]))
    return stored.key, stored.version_id


def test_list_objects_lists_every_filed_object_and_nothing_else(store: ObjectStore) -> None:
    a, b = put(store, b"first object"), put(store, os.urandom(TEST_PART_SIZE + 10))
    listed = {(o.key, o.version_id): o for o in store.list_objects()}
    assert set(listed) == {a, b}
    assert listed[a].size == len(b"first object")
    assert listed[a].modified <= utc_now() + timedelta(seconds=5)


def test_sweep_of_an_idle_store_removes_nothing_filed(store: ObjectStore) -> None:
    filed = put(store, b"evidence")
    result = store.sweep_staging(utc_now() + timedelta(minutes=5))  # everything is "old"
    assert {(o.key, o.version_id) for o in store.list_objects()} == {filed}
    assert b"".join(store.open(*filed)) == b"evidence"
    assert result.staging_removed == 0 and result.uploads_aborted == 0


@pytest.mark.s3
def test_s3_sweep_aborts_stale_uploads_and_removes_stale_staging_objects(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    bucket = s3_store.bucket
    # what a kill -9 mid-intake leaves: an open multipart upload (staging or direct to a
    # content key) and a completed staging object that was never copied and removed
    staging_upload = wire.create_multipart_upload(s3_client, bucket, f"{STAGING_PREFIX}crashed", {})
    wire.upload_part(s3_client, bucket, f"{STAGING_PREFIX}crashed", staging_upload, 1, b"x" * 1000)
    direct_key = "objects/blake3/ab/cd/" + "ab" * 32
    wire.create_multipart_upload(s3_client, bucket, direct_key, {})
    wire.put_object(
        s3_client, bucket, f"{STAGING_PREFIX}completed", b"y" * 500, {"Content-Type": "x/y"}
    )
    filed = put(s3_store, b"evidence bytes")

    fresh = s3_store.sweep_staging(utc_now() - timedelta(hours=1))
    assert (fresh.uploads_aborted, fresh.staging_removed) == (0, 0)
    assert len(list(wire.list_multipart_uploads(s3_client, bucket))) == 2

    stale = s3_store.sweep_staging(utc_now() + timedelta(minutes=5))
    assert stale.uploads_aborted == 2
    assert stale.staging_removed == 1 and stale.bytes_freed == 500
    assert list(wire.list_multipart_uploads(s3_client, bucket)) == []
    left = list(s3_client.list_objects(bucket, recursive=True, include_version=True))
    assert [(o.object_name, o.version_id) for o in left] == [filed]
