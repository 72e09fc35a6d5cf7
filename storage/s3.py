"""The S3 Object Lock store: evidence bytes in a versioned, Object-Lock-enabled bucket.

This is the backend that gives COMPLIANCE-grade immutability: once ``set_retention`` has
put a version under COMPLIANCE retention, the object store itself refuses to delete or
overwrite that version, or to shorten its retention, for anyone — including the holder of
the root credentials — until the date passes. MinIO in production, SeaweedFS in the tests.

How a put works (each byte is read once and hashed once, by the caller's ``MultiHasher``):

1. The stream is read part by part (``part_size``, 16 MiB by default), every piece fed to
   the hasher as it is read.
2. An object that fits in one part is already whole in memory, so its BLAKE3 — its address
   — is known: it is written straight to ``objects/blake3/ab/cd/<hex>`` with one PUT.
3. A larger object goes as a multipart upload to ``staging/<uuid>``, with ``upload_threads``
   parts in flight while the next one is read and hashed (memory: at most
   ``upload_threads + 1`` parts). When the stream ends the BLAKE3 is known, and the staging
   object is copied server-side to its content address (CopyObject up to 5 GiB, a
   multipart UploadPartCopy above), then the staging version is deleted. That server-side
   copy is the price of learning the address only at the end; the upload itself runs as
   fast as the SDK's own parallel ``fput_object``.
4. If the content address already holds this content — one version, of the right size,
   whose ``x-amz-meta-blake3`` (recorded on every object filed here) names it — nothing is
   written: that version is returned with ``created=False``. Writes to a free content
   address carry ``If-None-Match: *``, so identical uploads racing each other make one
   version. A content key holding anything else (overwritten, delete-marked or planted
   behind the service's back) gets a fresh, verified version on top, and a warning.

Any failure aborts the multipart upload (if the server is reachable; otherwise it stays open
until a lifecycle rule such as MinIO's AbortIncompleteMultipartUpload ends it); a failure
after it completed leaves at worst an unreferenced staging blob (removed on a best-effort
basis), never a referenced mutable one.
Part sizes double every 1000 parts (S3 allows 10 000 parts per object), so memory grows
only for uploads past ~16 GiB: ``(upload_threads + 1) * part_size * 2`` up to ~47 GiB, and
so on.

The bucket must have versioning and Object Lock enabled (``check_ready``); that can only be
chosen when the bucket is created (``mc mb --with-lock``). The store never falls back to an
unlocked bucket. Do not give the bucket a default retention: the service sets retention per
evidence object, and a default would also lock the short-lived staging objects.

Every minio / urllib3 exception is translated here into ``custody.errors`` storage errors.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, CopySource
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention
from urllib3.response import BaseHTTPResponse

from custody.digests import MultiHasher
from custody.errors import (
    CustodyError,
    DigestMismatch,
    ObjectMissing,
    RetentionActive,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
    UploadTooLarge,
)
from storage import minio_compat
from storage.base import (
    CHUNK_SIZE,
    LockState,
    ObjectInfo,
    ObjectListing,
    StoredObject,
    SweepResult,
    content_key,
)
from storage.minio_compat import Headers as DictType

log = logging.getLogger(__name__)

MiB = 1024 * 1024
GiB = 1024 * MiB
MIN_PART_SIZE = 5 * MiB  # S3: every part but the last
MAX_PART_SIZE = 5 * GiB  # S3: one part, and one CopyObject
MAX_PARTS = 10_000
PARTS_PER_SIZE_STEP = 1000  # part size doubles after this many parts
STAGING_PREFIX = "staging/"
OCTET_STREAM = "application/octet-stream"
# the BLAKE3 this service computed, recorded on every object it files under a content key
BLAKE3_META = "x-amz-meta-blake3"

# what S3 servers answer when a version simply has no retention / no legal hold:
# MinIO says NoSuchObjectLockConfiguration, SeaweedFS ObjectLockConfigurationNotFoundError
# (retention) and NoSuchObjectLegalHold (hold)
_NO_LOCK_CODES = frozenset(
    {"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"}
)
_NO_HOLD_CODES = _NO_LOCK_CODES | {"NoSuchObjectLegalHold"}
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject"})
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
)
_BUSY_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "XMinioServerNotInitialized"}
)


class _PreconditionFailed(Exception):
    """A conditional write found the key already taken (If-None-Match: *)."""


def _ceil_second(moment: datetime) -> datetime:
    """UTC, rounded up to a whole second (S3 keeps retain-until dates to the second)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def _s3_xml_error(response: BaseHTTPResponse) -> str | None:
    """S3 may answer 200 with an <Error> body (CopyObject, CompleteMultipartUpload)."""
    body = response.data
    if not body:
        return None
    try:
        root = ET.fromstring(body)  # noqa: S314 - a reply from our own object store
    except ET.ParseError:
        return None
    if root.tag.rsplit("}", 1)[-1] != "Error":
        return None
    code = root.findtext("Code") or root.findtext("{*}Code") or "Error"
    message = root.findtext("Message") or root.findtext("{*}Message") or ""
    return f"{code}: {message}"


class S3ObjectLockStore:
    """Content-addressed evidence in an S3 bucket with versioning and Object Lock."""

    name = "s3"
    # largest source range one UploadPartCopy / CopyObject may take (S3: 5 GiB); a class
    # attribute so tests can exercise the multipart copy without 5 GiB of data
    max_copy_size: int = MAX_PART_SIZE

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str = "us-east-1",
        create_bucket: bool = False,
        part_size: int = 16 * MiB,
        upload_threads: int = 4,
        connect_timeout: float = 3.0,
        read_timeout: float = 120.0,
    ) -> None:
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(
                f"S3 part size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, "
                f"got {part_size} (CUSTODY_S3_PART_SIZE)"
            )
        if upload_threads < 1:
            raise ValueError(f"upload_threads must be at least 1, got {upload_threads}")
        endpoint = endpoint.strip()
        for scheme in ("http://", "https://"):
            if endpoint.startswith(scheme):
                secure = scheme == "https://"
                endpoint = endpoint[len(scheme) :]
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.secure = secure
        self.region = region
        self.create_bucket = create_bucket
        self.part_size = part_size
        self.upload_threads = upload_threads
        self._ready = False
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=max(10, upload_threads + 2),
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            # fail within seconds when the server is down, not after minutes of retrying
            retries=urllib3.Retry(
                total=2,
                connect=1,
                read=0,
                status=2,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
            ),
        )
        self._client = Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )

    def __repr__(self) -> str:  # never show the credentials
        scheme = "https" if self.secure else "http"
        return f"S3ObjectLockStore({scheme}://{self.endpoint}/{self.bucket})"

    # -- error translation -----------------------------------------------------------------
    def _unreachable(self, e: BaseException) -> StorageUnavailable:
        reason = getattr(e, "reason", None) or e
        return StorageUnavailable(
            f"object storage at {self.endpoint} is unreachable: {reason}; "
            "check CUSTODY_S3_ENDPOINT and that MinIO is running"
        )

    def _translate(
        self,
        e: BaseException,
        action: str,
        key: str | None = None,
        version_id: str | None = None,
        *,
        locking: bool = False,
    ) -> CustodyError:
        """The custody error for a foreign exception raised while doing ``action``."""
        what = f"{key} (version {version_id})" if version_id else (key or f"bucket {self.bucket}")
        if isinstance(e, CustodyError):
            return e
        if isinstance(e, S3Error):
            code = e.code or ""
            if code in _MISSING_CODES:
                return ObjectMissing(
                    f"stored object {what} is missing from bucket {self.bucket!r} "
                    f"at {self.endpoint}"
                )
            if code == "NoSuchBucket":
                return StorageMisconfigured(
                    f"bucket {self.bucket!r} does not exist at {self.endpoint}; create it "
                    "with Object Lock (mc mb --with-lock) or set CUSTODY_S3_CREATE_BUCKET=true"
                )
            if code == "AccessDenied" and locking:
                return RetentionActive(
                    f"object storage refused to {action} {what}: it is under retention or "
                    "a legal hold (retention can be extended, never shortened)"
                )
            if code in _CREDENTIAL_CODES or code == "AccessDenied":
                return StorageMisconfigured(
                    f"object storage at {self.endpoint} refused to {action} {what} ({code}); "
                    "check CUSTODY_S3_ACCESS_KEY / CUSTODY_S3_SECRET_KEY and the bucket policy"
                )
            if code in _BUSY_CODES:
                return StorageUnavailable(
                    f"object storage at {self.endpoint} cannot {action} {what} right now "
                    f"({code}: {e.message}); retry later"
                )
            return StorageError(
                f"object storage at {self.endpoint} refused to {action} {what}: {code}: {e.message}"
            )
        if isinstance(e, ServerError):
            return StorageUnavailable(
                f"object storage at {self.endpoint} failed to {action} {what}: "
                f"HTTP {e.status_code}; check that MinIO is healthy"
            )
        if isinstance(e, InvalidResponseError):
            return StorageUnavailable(
                f"object storage at {self.endpoint} gave a non-S3 answer while trying to "
                f"{action} {what}: {e}; check CUSTODY_S3_ENDPOINT"
            )
        if isinstance(e, (urllib3.exceptions.HTTPError, OSError)):
            return self._unreachable(e)
        if isinstance(e, MinioException):
            return StorageError(f"object storage error while trying to {action} {what}: {e}")
        raise TypeError(f"not a storage exception: {e!r}")  # pragma: no cover

    @contextlib.contextmanager
    def _errors(
        self,
        action: str,
        key: str | None = None,
        version_id: str | None = None,
        *,
        locking: bool = False,
    ) -> Iterator[None]:
        try:
            yield
        except CustodyError:
            raise
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as e:
            raise self._translate(e, action, key, version_id, locking=locking) from e

    # -- readiness -------------------------------------------------------------------------
    def _object_lock_enabled(self) -> bool:
        """Whether the bucket has Object Lock enabled (raises S3Error NoSuchBucket)."""
        try:
            body = minio_compat.object_lock_configuration(self._client, self.bucket)
        except S3Error as e:
            if e.code in _NO_LOCK_CODES:
                return False
            raise
        root = ET.fromstring(body)  # noqa: S314 - our own object store's reply
        enabled = root.findtext("ObjectLockEnabled") or root.findtext("{*}ObjectLockEnabled")
        if (root.find("Rule") is not None) or (root.find("{*}Rule") is not None):
            log.warning(
                "bucket %s has a default retention rule; staging objects of large uploads "
                "will be locked by it too and cannot be cleaned up until it expires",
                self.bucket,
            )
        return enabled == "Enabled"

    def check_ready(self) -> None:
        """Raise unless the bucket has versioning and Object Lock (creating it if allowed)."""
        with self._errors("check"):
            try:
                locked = self._object_lock_enabled()
            except S3Error as e:
                if e.code != "NoSuchBucket":
                    raise
                if not self.create_bucket:
                    raise StorageMisconfigured(
                        f"bucket {self.bucket!r} does not exist at {self.endpoint}; create it "
                        "with Object Lock (mc mb --with-lock) or set "
                        "CUSTODY_S3_CREATE_BUCKET=true"
                    ) from e
                log.info("creating bucket %s with Object Lock at %s", self.bucket, self.endpoint)
                try:
                    self._client.make_bucket(self.bucket, location=self.region, object_lock=True)
                except S3Error as made:
                    if made.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
                locked = self._object_lock_enabled()
            if not locked:
                raise StorageMisconfigured(
                    f"bucket {self.bucket!r} at {self.endpoint} does not have Object Lock "
                    "enabled, so evidence in it could be deleted or overwritten; Object Lock "
                    "can only be chosen when a bucket is created: create a new bucket with "
                    "'mc mb --with-lock' and point CUSTODY_S3_BUCKET at it"
                )
            status = self._client.get_bucket_versioning(self.bucket).status
            if status != "Enabled":
                raise StorageMisconfigured(
                    f"bucket {self.bucket!r} at {self.endpoint} has versioning "
                    f"{status or 'off'}; Object Lock needs it Enabled"
                )
        self._ready = True

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.check_ready()

    # -- put -------------------------------------------------------------------------------
    def _part_size(self, number: int) -> int:
        """Size of part ``number`` (1-based): doubling every 1000 parts, at most 5 GiB."""
        return min(self.part_size << ((number - 1) // PARTS_PER_SIZE_STEP), MAX_PART_SIZE)

    @staticmethod
    def _read_part(
        stream: BinaryIO, hasher: MultiHasher, size: int, max_bytes: int | None, done: int
    ) -> bytes:
        """Read up to ``size`` bytes (less only at the end), hashing each piece once.

        One ``read(size)`` normally returns the whole part into a single new buffer, which
        is hashed and uploaded as it is: no copies (a join costs as much as the hashing).
        """
        pieces: list[bytes] = []
        got = 0
        while got < size:
            piece = stream.read(size - got)
            if not piece:
                break
            if max_bytes is not None and done + got + len(piece) > max_bytes:
                raise UploadTooLarge(
                    f"upload exceeds the limit of {max_bytes} bytes "
                    "(CUSTODY_MAX_UPLOAD_BYTES); split the image or ask the "
                    "administrator to raise the limit"
                )
            hasher.update(piece)
            pieces.append(bytes(piece) if not isinstance(piece, bytes) else piece)
            got += len(piece)
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def put(
        self,
        stream: BinaryIO,
        *,
        hasher: MultiHasher,
        max_bytes: int | None = None,
        expected_blake3: str | None = None,
    ) -> StoredObject:
        self._ensure_ready()
        first = self._read_part(stream, hasher, self.part_size, max_bytes, 0)
        if len(first) < self.part_size:
            stored = self._put_whole(first, hasher, expected_blake3)
        elif expected_blake3:
            stored = self._put_direct(stream, first, hasher, max_bytes, expected_blake3)
        else:
            stored = self._put_multipart(stream, first, hasher, max_bytes)
        return stored

    @staticmethod
    def _check_expected(digests: dict[str, str], expected: str | None) -> None:
        if expected and digests["blake3"] != expected:
            raise DigestMismatch(
                f"the content does not match the declared digest (blake3: declared {expected}, "
                f"computed {digests['blake3']}); nothing was stored",
                mismatches=[
                    {"algorithm": "blake3", "declared": expected, "computed": digests["blake3"]}
                ],
            )

    def _put_whole(self, data: bytes, hasher: MultiHasher, expected: str | None) -> StoredObject:
        digests = hasher.hexdigests()
        self._check_expected(digests, expected)
        key = content_key(digests["blake3"])

        def write(conditional: bool) -> str | None:
            headers: DictType = {"Content-Type": OCTET_STREAM, BLAKE3_META: digests["blake3"]}
            if conditional:
                headers["If-None-Match"] = "*"
            try:
                return minio_compat.put_object(self._client, self.bucket, key, data, headers)
            except S3Error as e:
                if e.code == "PreconditionFailed":
                    raise _PreconditionFailed from e
                raise

        with self._errors("store", key):
            version_id, created = self._file(key, len(data), digests["blake3"], write)
        return StoredObject(
            key=key, version_id=version_id, size=len(data), digests=digests, created=created
        )

    def _upload_parts(
        self,
        key: str,
        headers: DictType,
        stream: BinaryIO,
        first: bytes,
        hasher: MultiHasher,
        max_bytes: int | None,
    ) -> tuple[str, list[tuple[int, str]], int]:
        """Upload the stream as parts of a new multipart upload to ``key``, concurrently.

        Returns (upload id, parts, size); on any failure the upload is aborted.
        """
        with self._errors("start an upload of", key):
            upload_id = minio_compat.create_multipart_upload(
                self._client, self.bucket, key, headers
            )
        total = 0
        pool = ThreadPoolExecutor(max_workers=self.upload_threads, thread_name_prefix="s3-part")
        pending: set[Future[tuple[int, str]]] = set()
        etags: dict[int, str] = {}

        def collect(futures: set[Future[tuple[int, str]]]) -> None:
            with self._errors("upload", key):
                for future in futures:
                    number, etag = future.result()
                    etags[number] = etag

        try:
            number, data = 1, first
            while True:
                # the part travels in a box the worker empties, so that its memory is freed
                # when the upload finishes, not when the executor drops its work item
                size = len(data)
                box = [data]
                del data
                pending.add(pool.submit(self._upload_part, key, upload_id, number, box))
                del box
                total += size
                if size < self._part_size(number):
                    break  # the stream has ended
                number += 1
                if number > MAX_PARTS:
                    raise UploadTooLarge(
                        f"upload exceeds the {MAX_PARTS} parts an S3 object may have; "
                        "raise CUSTODY_S3_PART_SIZE"
                    )
                # make room before reading: at most upload_threads + 1 parts in memory
                while len(pending) >= self.upload_threads:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
                data = self._read_part(stream, hasher, self._part_size(number), max_bytes, total)
                if not data:
                    break
            finished, pending = wait(pending).done, set()
            collect(finished)
        except BaseException:
            for future in pending:
                future.cancel()
            wait(pending)
            pool.shutdown(wait=True, cancel_futures=True)
            self._abort(key, upload_id)
            raise
        pool.shutdown(wait=True)
        return upload_id, [(n, etags[n]) for n in sorted(etags)], total

    def _put_multipart(
        self, stream: BinaryIO, first: bytes, hasher: MultiHasher, max_bytes: int | None
    ) -> StoredObject:
        """The address is known only at the end: upload to staging, then copy into place."""
        staging = f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        upload_id, parts, total = self._upload_parts(
            staging, {"Content-Type": OCTET_STREAM}, stream, first, hasher, max_bytes
        )
        try:
            with self._errors("upload", staging):
                staging_version = self._complete(staging, upload_id, parts, conditional=False)
        except BaseException:
            self._abort(staging, upload_id)
            raise

        try:
            digests = hasher.hexdigests()
            key = content_key(digests["blake3"])

            def write(conditional: bool) -> str | None:
                return self._copy(
                    staging, staging_version, key, total, digests["blake3"], conditional=conditional
                )

            with self._errors("store", key):
                version_id, created = self._file(key, total, digests["blake3"], write)
        finally:
            self._remove_staging(staging, staging_version)
        return StoredObject(
            key=key, version_id=version_id, size=total, digests=digests, created=created
        )

    def _put_direct(
        self,
        stream: BinaryIO,
        first: bytes,
        hasher: MultiHasher,
        max_bytes: int | None,
        expected: str,
    ) -> StoredObject:
        """The client declared the BLAKE3: upload straight to that address, no copy.

        The upload is completed only if the computed BLAKE3 equals the declared one;
        otherwise it is aborted and nothing becomes visible under the key.
        """
        key = content_key(expected)
        headers: DictType = {"Content-Type": OCTET_STREAM, BLAKE3_META: expected}
        upload_id, parts, total = self._upload_parts(key, headers, stream, first, hasher, max_bytes)
        completed = False
        try:
            digests = hasher.hexdigests()
            self._check_expected(digests, expected)

            def write(conditional: bool) -> str | None:
                nonlocal completed
                version = self._complete(key, upload_id, parts, conditional=conditional)
                completed = True
                return version

            with self._errors("store", key):
                version_id, created = self._file(key, total, expected, write)
        finally:
            if not completed:
                self._abort(key, upload_id)
        return StoredObject(
            key=key, version_id=version_id, size=total, digests=digests, created=created
        )

    def _upload_part(
        self, key: str, upload_id: str, number: int, box: list[bytes]
    ) -> tuple[int, str]:
        data = box.pop()
        etag = minio_compat.upload_part(self._client, self.bucket, key, upload_id, number, data)
        del data
        return number, etag

    def _complete(
        self, key: str, upload_id: str, parts: list[tuple[int, str]], *, conditional: bool
    ) -> str | None:
        """CompleteMultipartUpload (optionally If-None-Match: *); returns the version id."""
        try:
            response = minio_compat.complete_multipart_upload(
                self._client, self.bucket, key, upload_id, parts, if_none_match=conditional
            )
        except S3Error as e:
            if e.code == "PreconditionFailed":
                raise _PreconditionFailed from e
            raise
        failure = _s3_xml_error(response)
        if failure:
            if failure.startswith("PreconditionFailed"):
                raise _PreconditionFailed(failure)
            raise StorageError(
                f"object storage at {self.endpoint} failed to complete the upload of {key}: "
                f"{failure}"
            )
        return response.headers.get("x-amz-version-id")

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            minio_compat.abort_multipart_upload(self._client, self.bucket, key, upload_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as e:
            log.warning(
                "could not abort multipart upload %s of %s in bucket %s: %s; "
                "it holds no referenced evidence and can be aborted by a lifecycle rule",
                upload_id,
                key,
                self.bucket,
                e,
            )

    def _remove_staging(self, staging: str, version_id: str | None) -> None:
        try:
            self._client.remove_object(self.bucket, staging, version_id=version_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as e:
            log.warning(
                "could not remove staging object %s (version %s) from bucket %s: %s; "
                "it is not referenced by any evidence record",
                staging,
                version_id,
                self.bucket,
                e,
            )

    def _copy(
        self,
        source: str,
        source_version: str | None,
        key: str,
        size: int,
        blake3_hex: str,
        *,
        conditional: bool,
    ) -> str | None:
        """Server-side copy of one version to ``key``; returns the new version id."""
        copy_headers = CopySource(self.bucket, source, version_id=source_version).gen_copy_headers()
        target: DictType = {"Content-Type": OCTET_STREAM, BLAKE3_META: blake3_hex}
        if size <= self.max_copy_size:
            headers: DictType = {
                **copy_headers,
                **target,
                "x-amz-metadata-directive": "REPLACE",
            }
            if conditional:
                headers["If-None-Match"] = "*"
            try:
                response = minio_compat.copy_object(self._client, self.bucket, key, headers)
            except S3Error as e:
                if e.code == "PreconditionFailed":
                    raise _PreconditionFailed from e
                raise
            failure = _s3_xml_error(response)
            if failure:
                raise StorageError(
                    f"object storage at {self.endpoint} failed to copy {source} to {key}: {failure}"
                )
            return response.headers.get("x-amz-version-id")

        # above 5 GiB: a multipart upload whose parts are ranges copied from the source
        upload_id = minio_compat.create_multipart_upload(self._client, self.bucket, key, target)
        try:
            parts: list[tuple[int, str]] = []
            count = math.ceil(size / self.max_copy_size)
            for index in range(count):
                start = index * self.max_copy_size
                end = min(size, start + self.max_copy_size) - 1
                part_headers: DictType = dict(copy_headers)
                part_headers["x-amz-copy-source-range"] = f"bytes={start}-{end}"
                etag = minio_compat.upload_part_copy(
                    self._client, self.bucket, key, upload_id, index + 1, part_headers
                )
                parts.append((index + 1, etag))
            return self._complete(key, upload_id, parts, conditional=conditional)
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _adoptable(self, key: str, size: int, blake3_hex: str) -> tuple[str | None, bool]:
        """(version to reuse, whether the key is taken) for content already at ``key``.

        Only what this service would have written is reused: a single version (no
        overwrites, no delete markers) of the right size whose ``x-amz-meta-blake3`` names
        this content. Anything else under a content key was written behind our back.
        """
        entries = [
            o
            for o in self._client.list_objects(
                self.bucket, prefix=key, recursive=True, include_version=True
            )
            if o.object_name == key
        ]
        if not entries:
            return None, False
        only = entries[0]
        if len(entries) == 1 and not only.is_delete_marker and only.size == size:
            try:
                head = self._client.stat_object(self.bucket, key, version_id=only.version_id)
            except S3Error as e:
                if e.code not in _MISSING_CODES:
                    raise
                return None, True
            if head.metadata and head.metadata.get(BLAKE3_META) == blake3_hex:
                return head.version_id or only.version_id, True
        log.warning(
            "content key %s in bucket %s holds %d version(s) this service did not write "
            "(overwritten, deleted or planted behind its back); storing a verified version "
            "on top",
            key,
            self.bucket,
            len(entries),
        )
        return None, True

    def _file(
        self, key: str, size: int, blake3_hex: str, write: Callable[[bool], str | None]
    ) -> tuple[str, bool]:
        """Store via ``write`` unless this content is at ``key``; (version, created).

        ``write(conditional)`` puts the object at ``key``, with ``If-None-Match: *`` when
        ``conditional`` (raising _PreconditionFailed if the key was taken meanwhile).
        """
        version_id, taken = self._adoptable(key, size, blake3_hex)
        if version_id:
            return version_id, False
        try:
            return self._versioned(key, write(not taken)), True
        except _PreconditionFailed:
            pass
        # an identical upload racing this one filed it first
        version_id, _ = self._adoptable(key, size, blake3_hex)
        if version_id:
            return version_id, False
        return self._versioned(key, write(False)), True

    def _versioned(self, key: str, version_id: str | None) -> str:
        if not version_id:
            raise StorageMisconfigured(
                f"object storage at {self.endpoint} stored {key} without a version id: "
                f"bucket {self.bucket!r} is not versioned, so Object Lock cannot protect it"
            )
        return version_id

    # -- reading ---------------------------------------------------------------------------
    def open(self, key: str, version_id: str | None) -> Iterator[bytes]:
        with self._errors("read", key, version_id):
            response = self._client.get_object(self.bucket, key, version_id=version_id)

        def chunks() -> Iterator[bytes]:
            try:
                with self._errors("read", key, version_id):
                    yield from response.stream(CHUNK_SIZE, decode_content=False)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def read_range(self, key: str, version_id: str | None, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        with self._errors("read", key, version_id):
            response = self._client.get_object(
                self.bucket, key, offset=offset, length=length, version_id=version_id
            )
            try:
                return bytes(response.read(decode_content=False))
            finally:
                response.close()
                response.release_conn()

    def local_path(self, key: str, version_id: str | None) -> str | None:
        return None  # no file to hand to a native reader: it reads through read_range

    def _lock_state(self, key: str, version_id: str | None) -> LockState:
        try:
            retention = self._client.get_object_retention(self.bucket, key, version_id)
        except S3Error as e:
            if e.code not in _NO_LOCK_CODES:
                raise
            retention = None
        try:
            hold = self._client.is_object_legal_hold_enabled(self.bucket, key, version_id)
        except S3Error as e:
            if e.code not in _NO_HOLD_CODES:
                raise
            hold = False
        return LockState(
            mode=retention.mode if retention else None,
            retain_until=retention.retain_until_date if retention else None,
            legal_hold=bool(hold),
        )

    def stat(self, key: str, version_id: str | None) -> ObjectInfo:
        with self._errors("inspect", key, version_id):
            obj = self._client.stat_object(self.bucket, key, version_id=version_id)
            pinned = obj.version_id or version_id
            lock = self._lock_state(key, pinned)
            versions = [
                o
                for o in self._client.list_objects(
                    self.bucket, prefix=key, recursive=True, include_version=True
                )
                if o.object_name == key
            ]
        latest = next(
            (o for o in versions if str(o.is_latest).lower() == "true"),
            versions[0] if versions else None,
        )
        return ObjectInfo(
            key=key,
            version_id=pinned,
            size=obj.size or 0,
            lock=lock,
            latest_version_id=latest.version_id if latest else pinned,
            versions=len(versions),
        )

    # -- locking ---------------------------------------------------------------------------
    def set_retention(self, key: str, version_id: str | None, until: datetime) -> LockState:
        until = _ceil_second(until)
        with self._errors("read the retention of", key, version_id):
            current = self._lock_state(key, version_id)
        if current.retain_until is not None and current.retain_until > until:
            raise RetentionActive(
                f"retention of {key} runs until {current.retain_until.isoformat()}; "
                "it can be extended but never shortened"
            )
        if current.mode != COMPLIANCE or current.retain_until != until:
            with self._errors("set the retention of", key, version_id, locking=True):
                self._client.set_object_retention(
                    self.bucket, key, Retention(COMPLIANCE, until), version_id=version_id
                )
        with self._errors("read the retention of", key, version_id):
            return self._lock_state(key, version_id)

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> LockState:
        with self._errors("find", key, version_id):
            self._client.stat_object(self.bucket, key, version_id=version_id)
        with self._errors("set the legal hold of", key, version_id, locking=True):
            if on:
                self._client.enable_object_legal_hold(self.bucket, key, version_id)
            else:
                self._client.disable_object_legal_hold(self.bucket, key, version_id)
        with self._errors("read the legal hold of", key, version_id):
            return self._lock_state(key, version_id)

    def delete(self, key: str, version_id: str | None) -> None:
        with self._errors("delete", key, version_id):
            # resolves the version and reports ObjectMissing (S3 deletes of a gone version
            # succeed silently); without a version id S3 would only add a delete marker
            target = self._client.stat_object(self.bucket, key, version_id=version_id).version_id
        try:
            self._client.remove_object(self.bucket, key, version_id=target or version_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as e:
            error = self._translate(e, "delete", key, target, locking=True)
            if isinstance(error, RetentionActive):
                self._explain_refusal(error, key, target)
            raise error from e

    def _explain_refusal(self, error: RetentionActive, key: str, version_id: str | None) -> None:
        """Add the lock the store reports to a refusal message, if it can be read."""
        try:
            lock = self._lock_state(key, version_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError):
            return
        reasons = []
        if lock.legal_hold:
            reasons.append("it is under a legal hold; clear the hold before disposal")
        if lock.retain_until is not None:
            reasons.append(f"it is retained ({lock.mode}) until {lock.retain_until.isoformat()}")
        if reasons:
            error.message = f"{key} cannot be deleted: {'; '.join(reasons)}"
            error.args = (error.message,)

    # -- housekeeping ----------------------------------------------------------------------
    def sweep_staging(self, older_than: datetime) -> SweepResult:
        """Abort incomplete uploads and delete staging versions idle since before ``older_than``.

        An incomplete upload is judged by its newest part (an image still uploading keeps
        adding parts); a staging object by its last modification. Content keys are never
        touched: a version filed there is evidence or a registered orphan, under retention.
        """
        cutoff = _ceil_second(older_than)
        aborted = removed = freed = 0
        with self._errors("list the incomplete uploads in"):
            uploads = list(minio_compat.list_multipart_uploads(self._client, self.bucket))
        for upload in uploads:
            with self._errors("inspect the incomplete upload of", upload.key):
                parts = minio_compat.last_part_time(
                    self._client, self.bucket, upload.key, upload.upload_id
                )
            active = max((t for t in (upload.initiated, parts) if t is not None), default=None)
            if active is not None and active >= cutoff:
                continue
            with self._errors("abort the incomplete upload of", upload.key):
                minio_compat.abort_multipart_upload(
                    self._client, self.bucket, upload.key, upload.upload_id
                )
            aborted += 1
        with self._errors("list the staging objects in"):
            stale = [
                o
                for o in self._client.list_objects(
                    self.bucket, prefix=STAGING_PREFIX, recursive=True, include_version=True
                )
                if o.object_name and o.last_modified is not None and o.last_modified < cutoff
            ]
        for obj in stale:
            assert obj.object_name is not None
            with self._errors("remove the staging object", obj.object_name, obj.version_id):
                self._client.remove_object(self.bucket, obj.object_name, version_id=obj.version_id)
            removed += 1
            freed += obj.size or 0
        return SweepResult(staging_removed=removed, uploads_aborted=aborted, bytes_freed=freed)

    def list_objects(self) -> Iterator[ObjectListing]:
        with self._errors("list the stored objects in"):
            for obj in self._client.list_objects(
                self.bucket, prefix="objects/", recursive=True, include_version=True
            ):
                if obj.is_delete_marker or not obj.object_name:
                    continue
                yield ObjectListing(
                    key=obj.object_name,
                    version_id=obj.version_id,
                    size=obj.size or 0,
                    modified=obj.last_modified or datetime.fromtimestamp(0, UTC),
                )


def s3_store_from_settings(settings: object) -> S3ObjectLockStore:
    """Build the store from an object with the ``s3_*`` attributes of ``api.settings.Settings``."""

    def get(name: str, default: object) -> object:
        return getattr(settings, name, default)

    return S3ObjectLockStore(
        endpoint=str(get("s3_endpoint", "127.0.0.1:9000")),
        access_key=str(get("s3_access_key", "")),
        secret_key=str(get("s3_secret_key", "")),
        bucket=str(get("s3_bucket", "evidence")),
        secure=bool(get("s3_secure", False)),
        region=str(get("s3_region", "us-east-1")),
        create_bucket=bool(get("s3_create_bucket", False)),
        part_size=int(str(get("s3_part_size", 16 * MiB))),
        upload_threads=int(str(get("s3_upload_threads", 4))),
    )
