"""``S3ObjectLockStore``: content-addressed evidence in a versioned Object Lock bucket.

The store decides where bytes go and which version is evidence; the wire calls
(``wire``), the streaming upload (``upload``) and the error messages (``errors``) are
delegated. How a put works and what the bucket must offer: see ``storage.s3``.
"""

from __future__ import annotations

import logging
import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from minio.commonconfig import COMPLIANCE, CopySource
from minio.error import S3Error
from minio.retention import Retention

from custody.digests import MultiHasher
from custody.errors import (
    DigestMismatch,
    RetentionActive,
    StorageError,
    StorageMisconfigured,
)
from storage.base import (
    CHUNK_SIZE,
    LockState,
    ObjectInfo,
    ObjectListing,
    StoredObject,
    SweepResult,
    content_key,
)
from storage.s3 import wire
from storage.s3.config import S3Config
from storage.s3.errors import (
    FOREIGN,
    MISSING_CODES,
    NO_HOLD_CODES,
    NO_LOCK_CODES,
    PreconditionFailed,
    Translator,
    precondition_failed,
)
from storage.s3.upload import MAX_PART_SIZE, MIN_PART_SIZE, MiB, read_part, upload_parts
from storage.s3.wire import Headers as DictType

log = logging.getLogger("storage.s3")  # the package: its name in the logs before the split

STAGING_PREFIX = "staging/"
OCTET_STREAM = "application/octet-stream"
# the BLAKE3 this service computed, recorded on every object it files under a content key
BLAKE3_META = "x-amz-meta-blake3"


def _ceil_second(moment: datetime) -> datetime:
    """UTC, rounded up to a whole second (S3 keeps retain-until dates to the second)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


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
        self._errors = Translator(self.endpoint, self.bucket)
        self._client = wire.connect(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            pool_size=max(10, upload_threads + 2),
        )

    @classmethod
    def from_config(cls, config: S3Config) -> S3ObjectLockStore:
        """The store the service runs with (``S3Config.from_settings``)."""
        return cls(
            endpoint=config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            bucket=config.bucket,
            secure=config.secure,
            region=config.region,
            create_bucket=config.create_bucket,
            part_size=config.part_size,
            upload_threads=config.upload_threads,
        )

    def __repr__(self) -> str:  # never show the credentials
        scheme = "https" if self.secure else "http"
        return f"S3ObjectLockStore({scheme}://{self.endpoint}/{self.bucket})"

    # -- readiness -------------------------------------------------------------------------
    def _object_lock_enabled(self) -> bool:
        """Whether the bucket has Object Lock enabled (raises S3Error NoSuchBucket)."""
        try:
            body = wire.object_lock_configuration(self._client, self.bucket)
        except S3Error as e:
            if e.code in NO_LOCK_CODES:
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
                    raise self._errors.no_bucket() from e
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
    def put(
        self,
        stream: BinaryIO,
        *,
        hasher: MultiHasher,
        max_bytes: int | None = None,
        expected_blake3: str | None = None,
    ) -> StoredObject:
        self._ensure_ready()
        first = read_part(stream, hasher, self.part_size, max_bytes, 0)
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
                return wire.put_object(self._client, self.bucket, key, data, headers)
            except S3Error as e:
                if precondition_failed(e):
                    raise PreconditionFailed from e
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
            upload_id = wire.create_multipart_upload(self._client, self.bucket, key, headers)
        try:
            parts, total = upload_parts(
                key,
                upload_id,
                stream,
                first,
                hasher=hasher,
                max_bytes=max_bytes,
                base_part_size=self.part_size,
                threads=self.upload_threads,
                send=self._upload_part,
                errors=self._errors,
            )
        except BaseException:
            self._abort(key, upload_id)
            raise
        return upload_id, parts, total

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
        """Send one part from a worker thread (the ``PartSender`` of ``upload_parts``)."""
        data = box.pop()
        etag = wire.upload_part(self._client, self.bucket, key, upload_id, number, data)
        del data
        return number, etag

    def _complete(
        self, key: str, upload_id: str, parts: list[tuple[int, str]], *, conditional: bool
    ) -> str | None:
        """CompleteMultipartUpload (optionally If-None-Match: *); returns the version id."""
        try:
            response = wire.complete_multipart_upload(
                self._client, self.bucket, key, upload_id, parts, if_none_match=conditional
            )
        except S3Error as e:
            if precondition_failed(e):
                raise PreconditionFailed from e
            raise
        failure = wire.xml_error(response)
        if failure:
            if failure.startswith("PreconditionFailed"):
                raise PreconditionFailed(failure)
            raise StorageError(
                f"object storage at {self.endpoint} failed to complete the upload of {key}: "
                f"{failure}"
            )
        return response.headers.get("x-amz-version-id")

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            wire.abort_multipart_upload(self._client, self.bucket, key, upload_id)
        except FOREIGN as e:
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
        except FOREIGN as e:
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
                response = wire.copy_object(self._client, self.bucket, key, headers)
            except S3Error as e:
                if precondition_failed(e):
                    raise PreconditionFailed from e
                raise
            failure = wire.xml_error(response)
            if failure:
                raise StorageError(
                    f"object storage at {self.endpoint} failed to copy {source} to {key}: {failure}"
                )
            return response.headers.get("x-amz-version-id")

        # above 5 GiB: a multipart upload whose parts are ranges copied from the source
        upload_id = wire.create_multipart_upload(self._client, self.bucket, key, target)
        try:
            parts: list[tuple[int, str]] = []
            count = math.ceil(size / self.max_copy_size)
            for index in range(count):
                start = index * self.max_copy_size
                end = min(size, start + self.max_copy_size) - 1
                part_headers: DictType = dict(copy_headers)
                part_headers["x-amz-copy-source-range"] = f"bytes={start}-{end}"
                etag = wire.upload_part_copy(
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
                if e.code not in MISSING_CODES:
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
        ``conditional`` (raising PreconditionFailed if the key was taken meanwhile).
        """
        version_id, taken = self._adoptable(key, size, blake3_hex)
        if version_id:
            return version_id, False
        try:
            return self._versioned(key, write(not taken)), True
        except PreconditionFailed:
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
            if e.code not in NO_LOCK_CODES:
                raise
            retention = None
        try:
            hold = self._client.is_object_legal_hold_enabled(self.bucket, key, version_id)
        except S3Error as e:
            if e.code not in NO_HOLD_CODES:
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
        except FOREIGN as e:
            error = self._errors.translate(e, "delete", key, target, locking=True)
            if isinstance(error, RetentionActive):
                self._explain_refusal(error, key, target)
            raise error from e

    def _explain_refusal(self, error: RetentionActive, key: str, version_id: str | None) -> None:
        """Add the lock the store reports to a refusal message, if it can be read."""
        try:
            lock = self._lock_state(key, version_id)
        except FOREIGN:
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
            uploads = list(wire.list_multipart_uploads(self._client, self.bucket))
        for upload in uploads:
            with self._errors("inspect the incomplete upload of", upload.key):
                parts = wire.last_part_time(self._client, self.bucket, upload.key, upload.upload_id)
            active = max((t for t in (upload.initiated, parts) if t is not None), default=None)
            if active is not None and active >= cutoff:
                continue
            with self._errors("abort the incomplete upload of", upload.key):
                wire.abort_multipart_upload(self._client, self.bucket, upload.key, upload.upload_id)
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
