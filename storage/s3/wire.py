"""The S3 requests on the wire: every use of the minio SDK's private API, in one place.

The S3 store needs requests the public SDK does not offer: conditional writes
(``If-None-Match: *``) on PUT, CompleteMultipartUpload and CopyObject, parts uploaded
from our own thread pool, UploadPartCopy, and a paged ListMultipartUploads (the SDK's
own result type drops ``NextUploadIdMarker``). minio's private methods (``_execute``,
``_put_object``, …) can change in any release, so the project pins ``minio`` to
``TESTED_RANGE`` and ``tests/storage/test_minio_compat.py`` runs each function here
against a real S3 server. Nothing else in the project calls a private minio method.

The client itself is built here too (``connect``): its timeouts and retries decide how
quickly a dead server is reported.
"""

from __future__ import annotations

import base64
import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import certifi
import urllib3
from minio import Minio
from minio import __version__ as MINIO_VERSION
from minio.helpers import DictType
from urllib3.response import BaseHTTPResponse

# the minio releases this module was tested with (kept equal to the pin in pyproject.toml)
TESTED_MIN = (7, 2, 20)
TESTED_BELOW = (7, 3)
TESTED_RANGE = ">=7.2.20,<7.3"
# the private methods used below; the contract test checks that each still exists
PRIVATE_METHODS = (
    "_execute",
    "_put_object",
    "_create_multipart_upload",
    "_upload_part",
    "_upload_part_copy",
    "_abort_multipart_upload",
)

Headers = DictType


def connect(
    endpoint: str,
    *,
    access_key: str,
    secret_key: str,
    secure: bool,
    region: str,
    connect_timeout: float,
    read_timeout: float,
    pool_size: int,
) -> Minio:
    """A client that fails within seconds when the server is down, not after minutes."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=pool_size,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=2,
            connect=1,
            read=0,
            status=2,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
        ),
    )
    return Minio(
        endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region,
        http_client=http,
    )


def version_tested(version: str = MINIO_VERSION) -> bool:
    """Whether ``version`` of minio lies in the tested range."""
    numbers = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
    return numbers >= TESTED_MIN and numbers[:2] < TESTED_BELOW


def content_md5(body: bytes) -> str:
    """The ``Content-MD5`` header S3 requires on some bodies (integrity, not security)."""
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


def execute(
    client: Minio,
    method: str,
    bucket: str,
    key: str | None = None,
    *,
    body: bytes | None = None,
    headers: Headers | None = None,
    query: Headers | None = None,
) -> BaseHTTPResponse:
    """A signed request with any headers; raises S3Error on an S3 error reply."""
    return client._execute(method, bucket, key, body=body, headers=headers, query_params=query)


def object_lock_configuration(client: Minio, bucket: str) -> bytes:
    """The bucket's raw ``GetObjectLockConfiguration`` XML (the SDK's parser needs a rule)."""
    return bytes(execute(client, "GET", bucket, query={"object-lock": ""}).data)


def put_object(client: Minio, bucket: str, key: str, data: bytes, headers: Headers) -> str | None:
    """One PUT with exactly these headers (e.g. If-None-Match: *); returns the version id."""
    return client._put_object(bucket, key, data, headers=headers).version_id


def create_multipart_upload(client: Minio, bucket: str, key: str, headers: Headers) -> str:
    """CreateMultipartUpload; returns the upload id."""
    return client._create_multipart_upload(bucket, key, dict(headers))


def upload_part(
    client: Minio, bucket: str, key: str, upload_id: str, number: int, data: bytes
) -> str:
    """UploadPart; returns the part's ETag."""
    return client._upload_part(bucket, key, data, None, upload_id, number)


def upload_part_copy(
    client: Minio, bucket: str, key: str, upload_id: str, number: int, headers: Headers
) -> str:
    """UploadPartCopy (source and range in ``headers``); returns the part's ETag."""
    etag, _ = client._upload_part_copy(bucket, key, upload_id, number, headers)
    return etag


def complete_multipart_upload(
    client: Minio,
    bucket: str,
    key: str,
    upload_id: str,
    parts: Sequence[tuple[int, str]],
    *,
    if_none_match: bool = False,
) -> BaseHTTPResponse:
    """CompleteMultipartUpload, optionally conditional; the caller checks for an <Error> body."""
    root = ET.Element("CompleteMultipartUpload")
    for number, etag in parts:
        part = ET.SubElement(root, "Part")
        ET.SubElement(part, "PartNumber").text = str(number)
        ET.SubElement(part, "ETag").text = f'"{etag}"'
    body = ET.tostring(root)
    headers: Headers = {"Content-Type": "application/xml", "Content-MD5": content_md5(body)}
    if if_none_match:
        headers["If-None-Match"] = "*"
    return execute(
        client, "POST", bucket, key, body=body, headers=headers, query={"uploadId": upload_id}
    )


def copy_object(client: Minio, bucket: str, key: str, headers: Headers) -> BaseHTTPResponse:
    """CopyObject with exactly these headers (source, metadata, If-None-Match)."""
    return execute(client, "PUT", bucket, key, headers=headers)


def abort_multipart_upload(client: Minio, bucket: str, key: str, upload_id: str) -> None:
    """AbortMultipartUpload: frees the parts an unfinished upload holds on the server."""
    client._abort_multipart_upload(bucket, key, upload_id)


def xml_error(response: BaseHTTPResponse) -> str | None:
    """``Code: Message`` of an <Error> body: S3 may answer 200 with one (CopyObject,
    CompleteMultipartUpload), so a 2xx status alone does not mean success."""
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


@dataclass(frozen=True, kw_only=True)
class MultipartUpload:
    """One incomplete multipart upload, as ListMultipartUploads reports it."""

    key: str
    upload_id: str
    initiated: datetime | None


def _text(element: ET.Element, name: str) -> str | None:
    found = element.find("{*}" + name)  # {*} matches any namespace, and none
    return found.text if found is not None else None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def list_multipart_uploads(
    client: Minio, bucket: str, prefix: str = "", *, page_size: int = 1000
) -> Iterator[MultipartUpload]:
    """Every incomplete multipart upload under ``prefix``, following the pages."""
    key_marker = upload_marker = ""
    while True:
        query: Headers = {"uploads": "", "prefix": prefix, "max-uploads": str(page_size)}
        if key_marker:
            query["key-marker"] = key_marker
        if upload_marker:
            query["upload-id-marker"] = upload_marker
        reply = execute(client, "GET", bucket, query=query).data
        root = ET.fromstring(reply)  # noqa: S314 - our own object store's reply
        for upload in root.findall("{*}Upload"):
            key, upload_id = _text(upload, "Key"), _text(upload, "UploadId")
            if key and upload_id:
                yield MultipartUpload(
                    key=key, upload_id=upload_id, initiated=_parse_time(_text(upload, "Initiated"))
                )
        if (_text(root, "IsTruncated") or "").lower() != "true":
            return
        key_marker = _text(root, "NextKeyMarker") or ""
        upload_marker = _text(root, "NextUploadIdMarker") or ""
        if not key_marker and not upload_marker:
            return


def last_part_time(client: Minio, bucket: str, key: str, upload_id: str) -> datetime | None:
    """When the newest part of an incomplete upload arrived (ListParts), or None if none did.

    An upload's ``Initiated`` is when it began; a large image may still be sending parts
    hours later, so a sweep judges an upload by its last part, not by its start.
    """
    newest: datetime | None = None
    marker = ""
    while True:
        query: Headers = {"uploadId": upload_id, "max-parts": "1000"}
        if marker:
            query["part-number-marker"] = marker
        reply = execute(client, "GET", bucket, key, query=query).data
        root = ET.fromstring(reply)  # noqa: S314 - our own object store's reply
        for part in root.findall("{*}Part"):
            moment = _parse_time(_text(part, "LastModified"))
            if moment is not None and (newest is None or moment > newest):
                newest = moment
        if (_text(root, "IsTruncated") or "").lower() != "true":
            return newest
        marker = _text(root, "NextPartNumberMarker") or ""
        if not marker:
            return newest
