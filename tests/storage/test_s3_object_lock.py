"""The S3 backend against a real S3 server, checked behind the store's back.

The store's word is not taken for it: a raw minio client asks the server what lock an
object is under, and tries what an insider with the bucket's credentials would try —
delete the retained version, overwrite the key, shorten the retention.
"""

from __future__ import annotations

import io
import os
import socket
import time
import tracemalloc
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention

from api.settings import Settings
from custody.digests import MultiHasher
from custody.errors import (
    ObjectMissing,
    RetentionActive,
    StorageMisconfigured,
    StorageUnavailable,
)
from storage.base import LockState, StoredObject
from storage.s3 import MiB, S3Config, S3ObjectLockStore
from tests.seaweed import SeaweedS3
from tests.storage.conftest import TEST_PART_SIZE, Expected, make_s3_store, new_bucket_name

pytestmark = pytest.mark.s3


def put(store: S3ObjectLockStore, data: bytes) -> StoredObject:
    with MultiHasher() as hasher:
        return store.put(io.BytesIO(data), hasher=hasher)


def in_days(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- what the server itself says -----------------------------------------------------------


def test_retention_is_compliance_on_the_server(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    stored = put(s3_store, b"seized ledger, seal FZ-0007")
    until = in_days(365)

    s3_store.set_retention(stored.key, stored.version_id, until)

    retention = s3_client.get_object_retention(s3_store.bucket, stored.key, stored.version_id)
    assert retention is not None
    assert retention.mode == COMPLIANCE
    assert retention.retain_until_date == until


def test_direct_delete_of_retained_version_is_refused(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    data = b"the original image"
    stored = put(s3_store, data)
    s3_store.set_retention(stored.key, stored.version_id, in_days(1))

    with pytest.raises(S3Error) as refused:
        s3_client.remove_object(s3_store.bucket, stored.key, version_id=stored.version_id)
    assert refused.value.code == "AccessDenied"

    assert b"".join(s3_store.open(stored.key, stored.version_id)) == data


def test_direct_shortening_is_refused(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    stored = put(s3_store, b"bank records")
    until = in_days(30)
    s3_store.set_retention(stored.key, stored.version_id, until)

    for attempt in (Retention(COMPLIANCE, until - timedelta(days=1)), Retention(GOVERNANCE, until)):
        with pytest.raises(S3Error) as refused:
            s3_client.set_object_retention(
                s3_store.bucket, stored.key, attempt, version_id=stored.version_id
            )
        assert refused.value.code == "AccessDenied"

    lock = s3_store.stat(stored.key, stored.version_id).lock
    assert (lock.mode, lock.retain_until) == (COMPLIANCE, until)


def test_store_refuses_to_shorten_without_asking_s3(s3_store: S3ObjectLockStore) -> None:
    stored = put(s3_store, b"call records")
    until = in_days(30)
    s3_store.set_retention(stored.key, stored.version_id, until)
    calls: list[object] = []
    real = s3_store._client.set_object_retention

    def spy(*args: object, **kwargs: object) -> None:
        calls.append(args)
        real(*args, **kwargs)  # type: ignore[arg-type]

    s3_store._client.set_object_retention = spy  # type: ignore[method-assign]

    with pytest.raises(RetentionActive, match="never shortened"):
        s3_store.set_retention(stored.key, stored.version_id, until - timedelta(seconds=1))
    assert calls == []
    # setting the same date again is allowed and changes nothing
    assert s3_store.set_retention(stored.key, stored.version_id, until).retain_until == until


def test_s3_refusal_to_shorten_is_retention_active(
    s3_store: S3ObjectLockStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the store's own check blinded, S3's refusal still comes out as RetentionActive."""
    stored = put(s3_store, b"chat export")
    until = in_days(30)
    s3_store.set_retention(stored.key, stored.version_id, until)
    unlocked = LockState(mode=None, retain_until=None, legal_hold=False)
    monkeypatch.setattr(s3_store, "_lock_state", lambda key, version_id: unlocked)

    with pytest.raises(RetentionActive):
        s3_store.set_retention(stored.key, stored.version_id, until - timedelta(days=1))

    monkeypatch.undo()
    assert s3_store.stat(stored.key, stored.version_id).lock.retain_until == until


def test_legal_hold_on_the_server(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    data = b"held"
    stored = put(s3_store, data)

    s3_store.set_legal_hold(stored.key, stored.version_id, True)
    assert s3_client.is_object_legal_hold_enabled(s3_store.bucket, stored.key, stored.version_id)
    with pytest.raises(S3Error) as refused:
        s3_client.remove_object(s3_store.bucket, stored.key, version_id=stored.version_id)
    assert refused.value.code == "AccessDenied"

    s3_store.set_legal_hold(stored.key, stored.version_id, False)
    assert not s3_client.is_object_legal_hold_enabled(
        s3_store.bucket, stored.key, stored.version_id
    )
    assert b"".join(s3_store.open(stored.key, stored.version_id)) == data


def test_overwrite_behind_our_back_is_detected(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    original = b"original evidence bytes"
    stored = put(s3_store, original)
    s3_store.set_retention(stored.key, stored.version_id, in_days(1))

    forged = b"forged evidence bytes!!"
    written = s3_client.put_object(s3_store.bucket, stored.key, io.BytesIO(forged), len(forged))

    info = s3_store.stat(stored.key, stored.version_id)
    assert info.version_id == stored.version_id
    assert info.latest_version_id == written.version_id != stored.version_id
    assert info.versions == 2
    assert info.lock.mode == COMPLIANCE
    assert b"".join(s3_store.open(stored.key, stored.version_id)) == original
    # an identical upload must not adopt the forged latest version
    again = put(s3_store, original)
    assert again.key == stored.key
    assert b"".join(s3_store.open(again.key, again.version_id)) == original


def test_delete_marker_behind_our_back_is_detected(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    data = b"bytes someone tried to hide"
    stored = put(s3_store, data)
    s3_store.set_retention(stored.key, stored.version_id, in_days(1))

    s3_client.remove_object(s3_store.bucket, stored.key)  # no version: adds a delete marker

    info = s3_store.stat(stored.key, stored.version_id)
    assert info.latest_version_id != stored.version_id
    assert info.versions == 2
    assert b"".join(s3_store.open(stored.key, stored.version_id)) == data


def test_pinned_version_gone_is_object_missing(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    stored = put(s3_store, b"never locked")
    s3_client.remove_object(s3_store.bucket, stored.key, version_id=stored.version_id)

    with pytest.raises(ObjectMissing):
        s3_store.stat(stored.key, stored.version_id)
    with pytest.raises(ObjectMissing):
        s3_store.open(stored.key, stored.version_id)


# -- how put works ---------------------------------------------------------------------------


def test_small_object_is_written_directly(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    stored = put(s3_store, b"x" * 1000)
    names = [
        o.object_name
        for o in s3_client.list_objects(s3_store.bucket, recursive=True, include_version=True)
    ]
    assert names == [stored.key]


def test_multipart_upload_leaves_only_the_content_object(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    expected = Expected(os.urandom(2 * TEST_PART_SIZE + 1))
    stored = put(s3_store, expected.data)

    objects = list(s3_client.list_objects(s3_store.bucket, recursive=True, include_version=True))
    assert [(o.object_name, o.version_id) for o in objects] == [(stored.key, stored.version_id)]
    assert s3_client._list_multipart_uploads(s3_store.bucket).uploads == []


def test_multipart_copy_above_the_copy_limit(s3_store: S3ObjectLockStore) -> None:
    """Objects larger than one CopyObject (5 GiB) are copied as ranges; scaled down here."""
    s3_store.max_copy_size = 6 * MiB
    expected = Expected(os.urandom(20 * MiB + 3))
    copied_parts: list[object] = []
    real = s3_store._client._upload_part_copy

    def spy(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        copied_parts.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    s3_store._client._upload_part_copy = spy  # type: ignore[method-assign]

    stored = put(s3_store, expected.data)

    assert len(copied_parts) == 4  # 6 + 6 + 6 + 2 MiB
    assert stored.key == expected.key
    assert b"".join(s3_store.open(stored.key, stored.version_id)) == expected.data
    assert s3_store.stat(stored.key, stored.version_id).versions == 1


def test_memory_stays_bounded_during_a_large_put(seaweed: SeaweedS3) -> None:
    threads = 2
    store = make_s3_store(seaweed, new_bucket_name(), upload_threads=threads)
    store.check_ready()
    size = 30 * MiB

    class Source(io.RawIOBase):
        """Random bytes made on demand, so the test itself holds no copy of the object."""

        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            n = self.left if n < 0 else min(n, self.left)
            self.left -= n
            return os.urandom(n)

    tracemalloc.start()
    try:
        with MultiHasher() as hasher:
            stored = store.put(Source(), hasher=hasher)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.size == size
    # parts in flight plus the one being read: at most upload_threads + 1 (and a little slack)
    assert peak < (threads + 1) * TEST_PART_SIZE + MiB, f"peak {peak / MiB:.1f} MiB"


# -- readiness and failure ---------------------------------------------------------------------


def test_check_ready_on_bucket_without_object_lock(seaweed: SeaweedS3, s3_client: Minio) -> None:
    bucket = new_bucket_name()
    s3_client.make_bucket(bucket)

    for create in (False, True):  # creating is never a way around a bucket without lock
        store = make_s3_store(seaweed, bucket, create_bucket=create)
        with pytest.raises(StorageMisconfigured, match="Object Lock"):
            store.check_ready()
        with pytest.raises(StorageMisconfigured):
            put(store, b"must not land in an unlocked bucket")
    assert list(s3_client.list_objects(bucket, recursive=True)) == []


def test_check_ready_on_absent_bucket(seaweed: SeaweedS3, s3_client: Minio) -> None:
    bucket = new_bucket_name()

    with pytest.raises(StorageMisconfigured, match="does not exist"):
        make_s3_store(seaweed, bucket, create_bucket=False).check_ready()
    assert not s3_client.bucket_exists(bucket)

    make_s3_store(seaweed, bucket, create_bucket=True).check_ready()
    assert s3_client.bucket_exists(bucket)
    assert s3_client.get_bucket_versioning(bucket).status == "Enabled"
    s3_client.get_object_lock_config(bucket)  # raises unless Object Lock is enabled
    make_s3_store(seaweed, bucket, create_bucket=False).check_ready()  # and now it is ready


def test_wrong_credentials_are_misconfiguration_without_leaking_them(seaweed: SeaweedS3) -> None:
    secret = "not-the-secret-0123456789"
    store = make_s3_store(seaweed, new_bucket_name(), secret_key=secret)

    with pytest.raises(StorageMisconfigured) as refused:
        store.check_ready()
    assert secret not in str(refused.value)
    assert secret not in repr(store)
    assert "CUSTODY_S3_SECRET_KEY" in str(refused.value)


def test_unreachable_endpoint_fails_fast(seaweed: SeaweedS3) -> None:
    store = make_s3_store(seaweed, new_bucket_name(), endpoint=f"127.0.0.1:{free_port()}")

    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="unreachable") as down:
        store.check_ready()
    assert time.monotonic() - started < 5
    assert "CUSTODY_S3_ENDPOINT" in str(down.value)
    assert seaweed.secret_key not in str(down.value)
    with pytest.raises(StorageUnavailable):
        put(store, b"anything")


def test_stopped_server_makes_put_unavailable(seaweed: SeaweedS3) -> None:
    store = make_s3_store(seaweed, new_bucket_name())
    store.check_ready()
    kept = put(store, b"stored before the outage")

    seaweed.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            put(store, os.urandom(1000))
        with pytest.raises(StorageUnavailable):
            put(store, os.urandom(2 * TEST_PART_SIZE))
        with pytest.raises(StorageUnavailable):
            store.stat(kept.key, kept.version_id)
        assert time.monotonic() - started < 15
    finally:
        seaweed.start()

    assert b"".join(store.open(kept.key, kept.version_id)) == b"stored before the outage"


def test_server_dying_mid_upload(seaweed: SeaweedS3) -> None:
    """The storage goes away while parts are in flight: the put fails, nothing is referenced."""
    store = make_s3_store(seaweed, new_bucket_name())
    store.check_ready()
    expected = Expected(os.urandom(4 * TEST_PART_SIZE))

    class DyingSource(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if self.tell() >= 2 * TEST_PART_SIZE and seaweed.server.running:
                seaweed.kill()
            return super().read(n)

    try:
        with pytest.raises(StorageUnavailable), MultiHasher() as hasher:
            store.put(DyingSource(expected.data), hasher=hasher)
    finally:
        seaweed.start()

    with pytest.raises(ObjectMissing):
        store.stat(expected.key, None)
    assert put(store, expected.data).created is True


def test_store_from_settings() -> None:
    settings = Settings(
        storage="s3",
        s3_endpoint="http://minio:9000",
        s3_access_key="custody-key-id",
        s3_secret_key="s3cr3t-value",
        s3_bucket="evidence",
        s3_secure=False,
        s3_region="us-east-1",
        s3_create_bucket=False,
        s3_part_size=8 * MiB,
        s3_upload_threads=6,
    )

    config = S3Config.from_settings(settings)
    store = S3ObjectLockStore.from_config(config)

    assert (store.endpoint, store.bucket, store.secure) == ("minio:9000", "evidence", False)
    assert (store.part_size, store.upload_threads) == (8 * MiB, 6)
    assert "s3cr3t-value" not in repr(store)
    assert "s3cr3t-value" not in repr(config) and "custody-key-id" not in repr(config)
    with pytest.raises(FrozenInstanceError):
        config.bucket = "elsewhere"  # type: ignore[misc]
    with pytest.raises(ValueError, match="part size"):
        S3ObjectLockStore(
            endpoint="minio:9000", access_key="a", secret_key="b", bucket="c", part_size=MiB
        )
