"""Foreign exceptions (minio, urllib3, OSError) translated into ``custody.errors``.

The API maps only custody errors to answers, so every exception the SDK or the network
raises is turned here into one that says what failed and what to check. The typed errors
themselves live in ``custody.errors``; this module only decides which one applies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import urllib3
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from custody.errors import (
    CustodyError,
    ObjectMissing,
    RetentionActive,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)

# everything a call to the object store may raise besides a custody error
FOREIGN: tuple[type[BaseException], ...] = (
    MinioException,
    urllib3.exceptions.HTTPError,
    OSError,
)

# what S3 servers answer when a version simply has no retention / no legal hold:
# MinIO says NoSuchObjectLockConfiguration, SeaweedFS ObjectLockConfigurationNotFoundError
# (retention) and NoSuchObjectLegalHold (hold)
NO_LOCK_CODES = frozenset({"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"})
NO_HOLD_CODES = NO_LOCK_CODES | {"NoSuchObjectLegalHold"}
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject"})
CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
)
BUSY_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "XMinioServerNotInitialized"}
)


class PreconditionFailed(Exception):
    """A conditional write found the key already taken (If-None-Match: *).

    Not a custody error: the store catches it to adopt the racing upload's version.
    """


def precondition_failed(e: S3Error) -> bool:
    """Whether an S3 error is the refusal of a conditional write."""
    return e.code == "PreconditionFailed"


@dataclass(frozen=True)
class Translator:
    """Translates for one bucket, so that every message names the endpoint and bucket."""

    endpoint: str
    bucket: str

    def unreachable(self, e: BaseException) -> StorageUnavailable:
        """The network failed: name the endpoint, the likeliest thing to be wrong."""
        reason = getattr(e, "reason", None) or e
        return StorageUnavailable(
            f"object storage at {self.endpoint} is unreachable: {reason}; "
            "check CUSTODY_S3_ENDPOINT and that MinIO is running"
        )

    def no_bucket(self) -> StorageMisconfigured:
        """The bucket is absent: say how to create it with Object Lock."""
        return StorageMisconfigured(
            f"bucket {self.bucket!r} does not exist at {self.endpoint}; create it "
            "with Object Lock (mc mb --with-lock) or set CUSTODY_S3_CREATE_BUCKET=true"
        )

    def translate(
        self,
        e: BaseException,
        action: str,
        key: str | None = None,
        version_id: str | None = None,
        *,
        locking: bool = False,
    ) -> CustodyError:
        """The custody error for a foreign exception raised while doing ``action``.

        ``locking``: the action changes a lock or deletes, so AccessDenied means the
        version is locked (RetentionActive), not that the credentials are wrong.
        """
        what = f"{key} (version {version_id})" if version_id else (key or f"bucket {self.bucket}")
        if isinstance(e, CustodyError):
            return e
        if isinstance(e, S3Error):
            code = e.code or ""
            if code in MISSING_CODES:
                return ObjectMissing(
                    f"stored object {what} is missing from bucket {self.bucket!r} "
                    f"at {self.endpoint}"
                )
            if code == "NoSuchBucket":
                return self.no_bucket()
            if code == "AccessDenied" and locking:
                return RetentionActive(
                    f"object storage refused to {action} {what}: it is under retention or "
                    "a legal hold (retention can be extended, never shortened)"
                )
            if code in CREDENTIAL_CODES or code == "AccessDenied":
                return StorageMisconfigured(
                    f"object storage at {self.endpoint} refused to {action} {what} ({code}); "
                    "check CUSTODY_S3_ACCESS_KEY / CUSTODY_S3_SECRET_KEY and the bucket policy"
                )
            if code in BUSY_CODES:
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
            return self.unreachable(e)
        if isinstance(e, MinioException):
            return StorageError(f"object storage error while trying to {action} {what}: {e}")
        raise TypeError(f"not a storage exception: {e!r}")  # pragma: no cover

    @contextlib.contextmanager
    def __call__(
        self,
        action: str,
        key: str | None = None,
        version_id: str | None = None,
        *,
        locking: bool = False,
    ) -> Iterator[None]:
        """Within the block, a foreign exception leaves as its custody error (chained)."""
        try:
            yield
        except CustodyError:
            raise
        except FOREIGN as e:
            raise self.translate(e, action, key, version_id, locking=locking) from e
