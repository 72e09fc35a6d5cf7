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
Part sizes double every 1000 parts, so memory grows only for uploads past ~16 GiB (see
``upload``).

The bucket must have versioning and Object Lock enabled (``check_ready``); that can only be
chosen when the bucket is created (``mc mb --with-lock``). The store never falls back to an
unlocked bucket. Do not give the bucket a default retention: the service sets retention per
evidence object, and a default would also lock the short-lived staging objects.

The package, one job a module:

- ``store``: ``S3ObjectLockStore`` itself (where bytes go, which version is evidence),
- ``upload``: the concurrent, bounded-memory multipart upload of a stream,
- ``wire``: the S3 requests, including every use of the minio SDK's private API,
- ``errors``: every minio / urllib3 exception translated into ``custody.errors``,
- ``config``: ``S3Config``, the store's settings, read from ``api.settings.Settings``.
"""

from __future__ import annotations

from storage.s3.config import S3Config
from storage.s3.store import BLAKE3_META, OCTET_STREAM, STAGING_PREFIX, S3ObjectLockStore
from storage.s3.upload import GiB, MiB

__all__ = [
    "BLAKE3_META",
    "OCTET_STREAM",
    "STAGING_PREFIX",
    "GiB",
    "MiB",
    "S3Config",
    "S3ObjectLockStore",
]
