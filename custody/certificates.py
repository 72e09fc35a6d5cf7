"""Report certificates as the verifier sees them: a PEM file and its SHA-256 fingerprint."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes


def certificate_sha256(pem: str | bytes) -> str:
    """SHA-256 of the first certificate's DER bytes, lowercase hex; ValueError if not PEM."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    certificate = x509.load_pem_x509_certificate(data)
    return certificate.fingerprint(hashes.SHA256()).hex()
