"""What the S3 store is built from, read from the service's Settings.

The defaults live in one place, ``api.settings.Settings``; this config has none of its
own, so a setting cannot quietly get a different default here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # storage does not depend on the web stack at run time
    from api.settings import Settings


@dataclass(frozen=True, kw_only=True)
class S3Config:
    """The ``CUSTODY_S3_*`` settings; the credentials are left out of its repr."""

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    secure: bool
    region: str
    create_bucket: bool
    part_size: int
    upload_threads: int

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Config:
        return cls(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            create_bucket=settings.s3_create_bucket,
            part_size=settings.s3_part_size,
            upload_threads=settings.s3_upload_threads,
        )
