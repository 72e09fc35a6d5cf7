"""Asking a time-stamping authority (RFC 3161) for a token over a checkpoint's note body.

The token is verified against the TSA certificate configured for it before it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from api.services.url_pairs import url_pairs
from custody.errors import CustodyError, InputError, ServerError
from custody.timestamp import TsaTrust, VerifiedTimestamp, load_trust, request_for, verify_token


@dataclass(frozen=True, kw_only=True)
class TsaConfig:
    url: str
    cert: Path
    trust: TsaTrust


def parse_tsas(text: str) -> list[TsaConfig]:
    """``CUSTODY_TSA``: a JSON list of ``{"url", "cert"}`` or ``url=certfile,…``.

    ``cert`` is a PEM file with the TSA's certificate and its CA certificate.
    """
    pairs = url_pairs(text, setting="CUSTODY_TSA", field="cert")
    configs = []
    for url, cert in pairs:
        path = Path(cert)
        try:
            pem = path.read_bytes()
        except OSError as e:
            raise InputError(f"CUSTODY_TSA: cannot read {path}: {e}") from e
        configs.append(TsaConfig(url=url, cert=path, trust=load_trust(pem, str(path))))
    return configs


def request_token(
    http: httpx.Client, tsa: TsaConfig, body: str, digest: bytes
) -> tuple[bytes, VerifiedTimestamp]:
    """A verified DER TimeStampResp over SHA-256 of ``body``."""
    try:
        r = http.post(
            tsa.url,
            content=request_for(body),
            headers={"Content-Type": "application/timestamp-query"},
        )
    except httpx.HTTPError as e:
        raise ServerError(f"TSA {tsa.url}: {e}") from e
    if r.status_code != 200:
        raise ServerError(f"TSA {tsa.url} answered {r.status_code}")
    try:
        return r.content, verify_token(r.content, tsa.trust, digest)
    except CustodyError as e:
        raise ServerError(f"TSA {tsa.url}: its token does not verify: {e.message}") from e
