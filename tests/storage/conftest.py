"""Fixtures for the storage backends: a local WORM folder and S3 Object Lock on SeaweedFS."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3
import pytest
from minio import Minio

from storage.base import ObjectStore, content_key
from storage.local import LocalWormStore
from storage.s3 import MiB, S3ObjectLockStore
from tests.seaweed import SeaweedS3, seaweed_s3  # noqa: F401  (the session S3 server)

# small parts, so that a few MiB already take the multipart path with several parts
TEST_PART_SIZE = 5 * MiB
TEST_UPLOAD_THREADS = 3


@dataclass(frozen=True)
class Expected:
    """What a store must report for some bytes, computed independently of custody.digests."""

    data: bytes

    @property
    def blake3(self) -> str:
        return blake3.blake3(self.data).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def key(self) -> str:
        return content_key(self.blake3)


def new_bucket_name() -> str:
    return f"evidence-{uuid.uuid4().hex[:16]}"


def make_s3_store(seaweed: SeaweedS3, bucket: str, **overrides: object) -> S3ObjectLockStore:
    options: dict[str, object] = {
        "endpoint": seaweed.endpoint,
        "access_key": seaweed.access_key,
        "secret_key": seaweed.secret_key,
        "bucket": bucket,
        "create_bucket": True,
        "part_size": TEST_PART_SIZE,
        "upload_threads": TEST_UPLOAD_THREADS,
    }
    options.update(overrides)
    return S3ObjectLockStore(**options)  # type: ignore[arg-type]


@pytest.fixture
def seaweed(seaweed_s3: SeaweedS3) -> SeaweedS3:  # noqa: F811
    """The session server, running (a test that stopped it and failed may have left it down)."""
    if not seaweed_s3.server.running:
        seaweed_s3.start()
    return seaweed_s3


@pytest.fixture
def s3_client(seaweed: SeaweedS3) -> Minio:
    """A raw S3 client with the admin identity, for checks behind the store's back."""
    return seaweed.client()


@pytest.fixture
def s3_store(seaweed: SeaweedS3) -> S3ObjectLockStore:
    """An S3 store on a fresh Object Lock bucket (created by check_ready)."""
    store = make_s3_store(seaweed, new_bucket_name())
    store.check_ready()
    return store


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """Each backend in turn: the contract suite runs once per backend."""
    if request.param == "local":
        local = LocalWormStore(tmp_path / "worm")
        local.check_ready()
        yield local
    else:
        yield request.getfixturevalue("s3_store")
