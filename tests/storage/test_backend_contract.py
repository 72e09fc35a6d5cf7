"""One contract, every backend: what the service relies on from an ObjectStore.

Each test runs against the local WORM folder and against S3 Object Lock on a real
SeaweedFS server (a fresh Object Lock bucket per test).
"""

from __future__ import annotations

import io
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest

from custody.digests import MultiHasher
from custody.errors import ObjectMissing, RetentionActive, UploadTooLarge
from storage.base import ObjectStore, StoredObject, content_key
from storage.local import LocalWormStore
from storage.s3 import MiB, S3ObjectLockStore
from tests.storage.conftest import TEST_PART_SIZE, TEST_UPLOAD_THREADS, Expected

MISSING_KEY = content_key("0" * 64)


def put(store: ObjectStore, data: bytes, max_bytes: int | None = None) -> StoredObject:
    with MultiHasher() as hasher:
        return store.put(io.BytesIO(data), hasher=hasher, max_bytes=max_bytes)


def read(store: ObjectStore, key: str, version_id: str | None) -> bytes:
    return b"".join(store.open(key, version_id))


def in_days(days: int) -> datetime:
    """A retain-until date in whole seconds (S3 keeps retention dates to the second)."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def locked_modes(store: ObjectStore) -> str:
    return "COMPLIANCE" if store.name == "s3" else "LOCAL-WORM"


def test_store_implements_the_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)
    assert store.name in ("local", "s3")
    store.check_ready()


def test_put_returns_content_key_size_and_digests(store: ObjectStore) -> None:
    expected = Expected(b"seized phone extraction, sealed as FZ-2026-0042\n" * 100)

    stored = put(store, expected.data)

    assert stored.key == expected.key
    assert stored.key == (
        f"objects/blake3/{expected.blake3[:2]}/{expected.blake3[2:4]}/{expected.blake3}"
    )
    assert stored.size == len(expected.data)
    assert stored.digests["blake3"] == expected.blake3
    assert stored.digests["sha256"] == expected.sha256
    assert stored.created is True
    if store.name == "s3":
        assert stored.version_id  # pinned S3 version
    assert read(store, stored.key, stored.version_id) == expected.data


def test_extra_digests_come_from_the_callers_hasher(store: ObjectStore) -> None:
    import hashlib

    data = os.urandom(3000)
    with MultiHasher("md5,sha1") as hasher:
        stored = store.put(io.BytesIO(data), hasher=hasher)
    assert stored.digests["md5"] == hashlib.md5(data).hexdigest()
    assert stored.digests["sha1"] == hashlib.sha1(data).hexdigest()


def test_identical_content_is_stored_once(store: ObjectStore) -> None:
    data = os.urandom(100_000)

    first = put(store, data)
    second = put(store, data)

    assert first.created is True
    assert second.created is False
    assert second.key == first.key
    assert second.version_id == first.version_id
    assert second.digests == first.digests
    info = store.stat(first.key, first.version_id)
    assert info.versions == 1
    assert info.latest_version_id == first.version_id


def test_identical_multipart_content_is_stored_once(store: ObjectStore) -> None:
    data = os.urandom(2 * TEST_PART_SIZE + 12345)

    first = put(store, data)
    second = put(store, data)

    assert (first.created, second.created) == (True, False)
    assert (second.key, second.version_id) == (first.key, first.version_id)
    assert store.stat(first.key, first.version_id).versions == 1
    assert read(store, first.key, first.version_id) == data


def test_concurrent_identical_uploads_make_one_version(store: ObjectStore) -> None:
    data = os.urandom(TEST_PART_SIZE + 4321)
    results = []
    errors = []

    def upload() -> None:
        try:
            results.append(put(store, data))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=upload) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert len({(r.key, r.version_id) for r in results}) == 1
    assert sum(r.created for r in results) == 1  # exactly one upload filed it
    info = store.stat(results[0].key, results[0].version_id)
    assert info.versions == 1
    assert info.latest_version_id == results[0].version_id


def test_open_returns_exactly_the_bytes(store: ObjectStore) -> None:
    data = bytes(range(256)) * 4099  # not a multiple of any chunk size

    stored = put(store, data)
    chunks = list(store.open(stored.key, stored.version_id))

    assert b"".join(chunks) == data
    assert all(chunks)


def test_zero_byte_object(store: ObjectStore) -> None:
    expected = Expected(b"")

    stored = put(store, b"")

    assert stored.key == expected.key
    assert stored.size == 0
    assert stored.digests["blake3"] == expected.blake3
    assert stored.digests["sha256"] == expected.sha256
    assert read(store, stored.key, stored.version_id) == b""
    assert store.stat(stored.key, stored.version_id).size == 0


@pytest.mark.parametrize("size", [1000, 3 * TEST_PART_SIZE], ids=["one-part", "multipart"])
def test_too_large_upload_is_refused_and_leaves_nothing(store: ObjectStore, size: int) -> None:
    expected = Expected(os.urandom(size))
    limit = size - 1 if size < TEST_PART_SIZE else TEST_PART_SIZE + MiB

    with pytest.raises(UploadTooLarge):
        put(store, expected.data, max_bytes=limit)

    with pytest.raises(ObjectMissing):
        store.stat(expected.key, None)
    if isinstance(store, LocalWormStore):
        assert list((store.root / ".staging").iterdir()) == []
    else:
        assert isinstance(store, S3ObjectLockStore)
        raw = store._client
        leftovers = list(
            raw.list_objects(store.bucket, prefix="staging/", recursive=True, include_version=True)
        )
        assert leftovers == []
        assert raw._list_multipart_uploads(store.bucket).uploads == []
        assert list(raw.list_objects(store.bucket, recursive=True, include_version=True)) == []


def test_upload_of_exactly_the_limit_is_accepted(store: ObjectStore) -> None:
    data = os.urandom(TEST_PART_SIZE + 10)
    stored = put(store, data, max_bytes=len(data))
    assert stored.size == len(data)


def test_retention_is_applied_and_reported(store: ObjectStore) -> None:
    stored = put(store, b"bank statements 2025-01..2025-06")
    until = in_days(30)

    lock = store.set_retention(stored.key, stored.version_id, until)

    assert lock.mode == locked_modes(store)
    assert lock.retain_until == until
    assert lock.legal_hold is False
    info = store.stat(stored.key, stored.version_id)
    assert info.lock == lock
    assert info.size == stored.size


def test_retention_can_be_extended(store: ObjectStore) -> None:
    stored = put(store, b"chat export")
    store.set_retention(stored.key, stored.version_id, in_days(10))
    later = in_days(20)

    lock = store.set_retention(stored.key, stored.version_id, later)

    assert lock.retain_until == later
    assert store.stat(stored.key, stored.version_id).lock.retain_until == lock.retain_until


def test_shortening_retention_is_refused(store: ObjectStore) -> None:
    stored = put(store, b"disk image header")
    until = in_days(30)
    store.set_retention(stored.key, stored.version_id, until)

    with pytest.raises(RetentionActive):
        store.set_retention(stored.key, stored.version_id, until - timedelta(days=1))

    lock = store.stat(stored.key, stored.version_id).lock
    assert lock.retain_until == until
    assert lock.mode == locked_modes(store)


def test_delete_before_retention_ends_is_refused(store: ObjectStore) -> None:
    data = b"evidence that must survive"
    stored = put(store, data)
    store.set_retention(stored.key, stored.version_id, in_days(1))

    with pytest.raises(RetentionActive):
        store.delete(stored.key, stored.version_id)

    assert read(store, stored.key, stored.version_id) == data
    assert store.stat(stored.key, stored.version_id).versions == 1


def test_legal_hold_set_and_clear(store: ObjectStore) -> None:
    stored = put(store, b"held for trial")

    on = store.set_legal_hold(stored.key, stored.version_id, True)
    assert on.legal_hold is True
    assert store.stat(stored.key, stored.version_id).lock.legal_hold is True

    off = store.set_legal_hold(stored.key, stored.version_id, False)
    assert off.legal_hold is False
    assert store.stat(stored.key, stored.version_id).lock.legal_hold is False


def test_delete_under_legal_hold_is_refused(store: ObjectStore) -> None:
    data = b"held for appeal"
    stored = put(store, data)
    store.set_legal_hold(stored.key, stored.version_id, True)

    with pytest.raises(RetentionActive, match="hold"):
        store.delete(stored.key, stored.version_id)
    assert read(store, stored.key, stored.version_id) == data

    store.set_legal_hold(stored.key, stored.version_id, False)
    store.delete(stored.key, stored.version_id)
    with pytest.raises(ObjectMissing):
        store.stat(stored.key, stored.version_id)


def test_unlocked_object_can_be_deleted(store: ObjectStore) -> None:
    stored = put(store, b"disposed after approval")

    store.delete(stored.key, stored.version_id)

    with pytest.raises(ObjectMissing):
        store.stat(stored.key, stored.version_id)
    with pytest.raises(ObjectMissing):
        store.open(stored.key, stored.version_id)
    with pytest.raises(ObjectMissing):
        store.delete(stored.key, stored.version_id)


def test_missing_key(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing):
        store.open(MISSING_KEY, None)
    with pytest.raises(ObjectMissing):
        store.stat(MISSING_KEY, None)
    with pytest.raises(ObjectMissing):
        store.set_retention(MISSING_KEY, None, in_days(1))
    with pytest.raises(ObjectMissing):
        store.set_legal_hold(MISSING_KEY, None, True)


def test_large_object_streams_in_parts_and_round_trips(store: ObjectStore) -> None:
    expected = Expected(os.urandom(40 * MiB + 17))
    calls: list[int] = []
    if isinstance(store, S3ObjectLockStore):
        upload_part = store._upload_part

        def counting(
            staging: str, upload_id: str, number: int, box: list[bytes]
        ) -> tuple[int, str]:
            calls.append(number)
            return upload_part(staging, upload_id, number, box)

        store._upload_part = counting  # type: ignore[method-assign]

    stored = put(store, expected.data)

    assert stored.key == expected.key
    assert stored.size == len(expected.data)
    assert stored.digests == {"blake3": expected.blake3, "sha256": expected.sha256}
    if isinstance(store, S3ObjectLockStore):
        assert sorted(calls) == list(range(1, 10))  # 8 full 5 MiB parts and a 17-byte tail
    got = bytearray()
    for chunk in store.open(stored.key, stored.version_id):
        got += chunk
    assert bytes(got) == expected.data
    assert store.stat(stored.key, stored.version_id).size == len(expected.data)


def test_partial_read_releases_the_stream(store: ObjectStore) -> None:
    data = os.urandom(3 * MiB)
    stored = put(store, data)
    for _ in range(TEST_UPLOAD_THREADS * 5):  # would exhaust a connection pool if leaked
        chunks = store.open(stored.key, stored.version_id)
        assert next(iter(chunks))
        chunks.close()  # type: ignore[attr-defined]
    assert read(store, stored.key, stored.version_id) == data


def _nothing_left(store: ObjectStore) -> None:
    if isinstance(store, LocalWormStore):
        assert list((store.root / ".staging").iterdir()) == []
        assert not (store.root / "objects").exists() or not any(
            p.is_file() for p in (store.root / "objects").rglob("*")
        )
    else:
        assert isinstance(store, S3ObjectLockStore)
        raw = store._client
        assert raw._list_multipart_uploads(store.bucket).uploads == []
        assert list(raw.list_objects(store.bucket, recursive=True, include_version=True)) == []


@pytest.mark.parametrize("size", [1000, 3 * TEST_PART_SIZE + 5], ids=["one-part", "multipart"])
def test_declared_blake3_is_filed_directly_at_its_address(store: ObjectStore, size: int) -> None:
    expected = Expected(os.urandom(size))
    with MultiHasher() as hasher:
        stored = store.put(
            io.BytesIO(expected.data), hasher=hasher, expected_blake3=expected.blake3
        )
    assert stored.key == expected.key and stored.created
    assert read(store, stored.key, stored.version_id) == expected.data
    if isinstance(store, S3ObjectLockStore):  # no staging copy was made
        names = {
            o.object_name
            for o in store._client.list_objects(store.bucket, recursive=True, include_version=True)
        }
        assert names == {expected.key}
    # Declaring it again for identical content returns the same object.
    with MultiHasher() as hasher:
        again = store.put(io.BytesIO(expected.data), hasher=hasher, expected_blake3=expected.blake3)
    assert (again.key, again.version_id, again.created) == (stored.key, stored.version_id, False)


@pytest.mark.parametrize("size", [1000, 3 * TEST_PART_SIZE + 5], ids=["one-part", "multipart"])
def test_wrong_declared_blake3_stores_nothing(store: ObjectStore, size: int) -> None:
    from custody.errors import DigestMismatch

    data = os.urandom(size)
    wrong = Expected(b"other content").blake3
    with pytest.raises(DigestMismatch) as info, MultiHasher() as hasher:
        store.put(io.BytesIO(data), hasher=hasher, expected_blake3=wrong)
    assert info.value.extra["mismatches"][0]["declared"] == wrong
    _nothing_left(store)
