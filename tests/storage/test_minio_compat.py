"""Finding 14: the contract of every private minio call the S3 store relies on.

Each function of storage/s3/wire.py runs against the real SeaweedFS S3 server. A
minio release that changes a private method breaks this file, not evidence intake; the
pin in pyproject.toml keeps production on the range tested here.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from pathlib import Path

import pytest
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from storage.s3 import S3ObjectLockStore, wire
from tests.storage.conftest import TEST_PART_SIZE

pytestmark = pytest.mark.s3

ROOT = Path(__file__).resolve().parents[2]


def test_installed_minio_is_the_tested_range_and_pinned_to_it() -> None:
    assert wire.version_tested(), wire.MINIO_VERSION
    assert not wire.version_tested("7.3.0")
    assert not wire.version_tested("7.2.19")
    for name in wire.PRIVATE_METHODS:
        assert callable(getattr(Minio, name, None)), f"minio no longer has {name}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lists = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values()]
    [pin] = {d for deps in lists for d in deps if re.match(r"minio\b", d)}
    assert pin.replace(" ", "") == "minio" + wire.TESTED_RANGE


def test_no_private_minio_call_outside_the_wire_module() -> None:
    private = re.compile(r"client\._[a-z]")  # client._execute, self._client._put_object, …
    wire_module = ROOT / "storage" / "s3" / "wire.py"
    assert any(private.search(line) for line in wire_module.read_text().splitlines())
    offenders = []
    for path in sorted((ROOT / "storage").rglob("*.py")):
        if path == wire_module:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if private.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_object_lock_configuration(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    body = wire.object_lock_configuration(s3_client, s3_store.bucket)
    assert b"<ObjectLockEnabled>Enabled</ObjectLockEnabled>" in body


def test_put_object_with_if_none_match(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    bucket, key = s3_store.bucket, "compat/put"
    headers = {"Content-Type": "application/octet-stream", "If-None-Match": "*"}
    version = wire.put_object(s3_client, bucket, key, b"first", headers)
    assert version
    with pytest.raises(S3Error) as refused:
        wire.put_object(s3_client, bucket, key, b"second", headers)
    assert refused.value.code == "PreconditionFailed"
    assert s3_client.get_object(bucket, key).data == b"first"


def test_multipart_upload_parts_listing_and_conditional_complete(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    bucket, key = s3_store.bucket, "compat/multipart"
    first, last = os.urandom(TEST_PART_SIZE), os.urandom(1234)
    upload_id = wire.create_multipart_upload(
        s3_client, bucket, key, {"Content-Type": "application/octet-stream"}
    )
    assert wire.last_part_time(s3_client, bucket, key, upload_id) is None
    etags = [
        wire.upload_part(s3_client, bucket, key, upload_id, 1, first),
        wire.upload_part(s3_client, bucket, key, upload_id, 2, last),
    ]
    assert etags[0] == hashlib.md5(first).hexdigest()
    assert wire.last_part_time(s3_client, bucket, key, upload_id) is not None
    listed = list(wire.list_multipart_uploads(s3_client, bucket, prefix="compat/"))
    assert [(u.key, u.upload_id) for u in listed] == [(key, upload_id)]
    assert listed[0].initiated is not None
    response = wire.complete_multipart_upload(
        s3_client, bucket, key, upload_id, list(enumerate(etags, 1)), if_none_match=True
    )
    assert response.headers.get("x-amz-version-id")
    assert s3_client.get_object(bucket, key).data == first + last
    assert list(wire.list_multipart_uploads(s3_client, bucket, prefix="compat/")) == []


def test_list_multipart_uploads_follows_every_page(
    s3_store: S3ObjectLockStore, s3_client: Minio
) -> None:
    """The SDK's own result type loses NextUploadIdMarker; ours pages through."""
    bucket = s3_store.bucket
    made = {
        wire.create_multipart_upload(s3_client, bucket, f"compat/page-{i}", {}): i for i in range(3)
    }
    listed = list(wire.list_multipart_uploads(s3_client, bucket, prefix="compat/", page_size=1))
    assert sorted(u.upload_id for u in listed) == sorted(made)
    for upload in listed:
        wire.abort_multipart_upload(s3_client, bucket, upload.key, upload.upload_id)
    assert list(wire.list_multipart_uploads(s3_client, bucket, prefix="compat/")) == []


def test_copy_object_and_upload_part_copy(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    bucket = s3_store.bucket
    data = os.urandom(TEST_PART_SIZE + 100)
    source_version = wire.put_object(
        s3_client, bucket, "compat/source", data, {"Content-Type": "application/octet-stream"}
    )
    source = CopySource(bucket, "compat/source", version_id=source_version).gen_copy_headers()
    response = wire.copy_object(
        s3_client,
        bucket,
        "compat/copy",
        {**source, "x-amz-metadata-directive": "REPLACE", "x-amz-meta-blake3": "b3"},
    )
    assert response.headers.get("x-amz-version-id")
    assert s3_client.get_object(bucket, "compat/copy").data == data
    assert s3_client.stat_object(bucket, "compat/copy").metadata.get("x-amz-meta-blake3") == "b3"

    upload_id = wire.create_multipart_upload(s3_client, bucket, "compat/ranged", {})
    half = TEST_PART_SIZE
    etags = [
        wire.upload_part_copy(
            s3_client,
            bucket,
            "compat/ranged",
            upload_id,
            number,
            {**source, "x-amz-copy-source-range": f"bytes={start}-{end}"},
        )
        for number, (start, end) in enumerate([(0, half - 1), (half, len(data) - 1)], 1)
    ]
    wire.complete_multipart_upload(
        s3_client, bucket, "compat/ranged", upload_id, list(enumerate(etags, 1))
    )
    assert s3_client.get_object(bucket, "compat/ranged").data == data


def test_abort_multipart_upload(s3_store: S3ObjectLockStore, s3_client: Minio) -> None:
    bucket = s3_store.bucket
    upload_id = wire.create_multipart_upload(s3_client, bucket, "compat/aborted", {})
    wire.upload_part(s3_client, bucket, "compat/aborted", upload_id, 1, b"x" * 100)
    wire.abort_multipart_upload(s3_client, bucket, "compat/aborted", upload_id)
    assert list(wire.list_multipart_uploads(s3_client, bucket, prefix="compat/")) == []
    with pytest.raises(S3Error):
        s3_client.stat_object(bucket, "compat/aborted")
