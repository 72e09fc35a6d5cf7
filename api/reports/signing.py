"""The report-signing certificate and the PAdES signature on every PDF report.

At first start the service creates an ECDSA P-256 key and a self-signed certificate beside
the ledger key (``report-signing.key`` 0600, ``report-signing.crt``), written the same
durable way. An agency certificate replaces them through settings: a PEM key and
certificate (with its chain) or a PKCS#12 file, with the passphrase in an environment
variable. The certificate's SHA-256 fingerprint is published (API, bundle, the report's own
text) and named in every signed report JSON, so the ledger key pins the PDF's signer.

RFC 3161 time stamps are not yet available (a separate issue); :func:`sign_pdf` takes a
``timestamper`` for when they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from custody.errors import StorageFull, StorageMisconfigured
from storage.durable import create_exclusive, is_full

SIGNATURE_FIELD = "ReportSignature"
VALIDITY_DAYS = 20 * 365  # a court may check a report decades after it was made


@dataclass(frozen=True, kw_only=True)
class ReportCertificate:
    """The PDF signer: its key, certificate and chain (issuer first, as configured)."""

    key: Any  # a cryptography private key
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def sha256(self) -> str:
        """The SHA-256 fingerprint of the DER certificate, lowercase hex."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def self_signed(self) -> bool:
        return self.certificate.issuer == self.certificate.subject

    def pem(self) -> str:
        """The certificate and its chain, PEM."""
        return "".join(
            c.public_bytes(serialization.Encoding.PEM).decode("ascii")
            for c in (self.certificate, *self.chain)
        )


def generate_certificate(common_name: str) -> ReportCertificate:
    """A new key and a self-signed certificate for signing reports (not a CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "report signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evidence-custody"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "report signing"),
        ]
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return ReportCertificate(key=key, certificate=certificate)


def _misconfigured(what: str, e: Exception) -> StorageMisconfigured:
    return StorageMisconfigured(f"report signing: {what}: {e}")


def load_pem(key_path: Path, cert_path: Path, passphrase: str | None) -> ReportCertificate:
    """A PEM key and a PEM certificate file (the signer first, then its chain)."""
    try:
        key = serialization.load_pem_private_key(
            key_path.read_bytes(), passphrase.encode() if passphrase else None
        )
        certs = x509.load_pem_x509_certificates(cert_path.read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise _misconfigured(f"cannot read {key_path} / {cert_path}", e) from e
    return _matched(key, certs[0], tuple(certs[1:]), f"{cert_path}")


def load_pkcs12(path: Path, passphrase: str | None) -> ReportCertificate:
    """A PKCS#12 (.p12/.pfx) file with the key, the certificate and its chain."""
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(
            path.read_bytes(), passphrase.encode() if passphrase else None
        )
    except (OSError, ValueError, TypeError) as e:
        raise _misconfigured(f"cannot read {path}", e) from e
    if key is None or cert is None:
        raise StorageMisconfigured(f"report signing: {path} holds no key and certificate")
    return _matched(key, cert, tuple(chain), str(path))


def _matched(
    key: Any, cert: x509.Certificate, chain: tuple[x509.Certificate, ...], where: str
) -> ReportCertificate:
    mine = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if mine != theirs:
        raise StorageMisconfigured(
            f"report signing: the key does not belong to the certificate in {where}"
        )
    return ReportCertificate(key=key, certificate=cert, chain=chain)


def load_or_create(key_path: Path, cert_path: Path, common_name: str) -> ReportCertificate:
    """The service's own report certificate: created once (key 0600), then loaded."""
    if key_path.exists() and cert_path.exists():
        return load_pem(key_path, cert_path, None)
    if key_path.exists() != cert_path.exists():
        present = key_path if key_path.exists() else cert_path
        raise StorageMisconfigured(
            f"report signing: {present} exists without its pair; restore both files or remove it"
        )
    made = generate_certificate(common_name)
    key_pem = made.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        created = create_exclusive(key_path, key_pem, mode=0o600)
        if created:
            create_exclusive(cert_path, made.pem().encode("ascii"), mode=0o644)
    except OSError as e:
        error = StorageFull if is_full(e) else StorageMisconfigured
        raise error(f"cannot write the report signing key {key_path}: {e}") from e
    if not created:  # another server process made it first: use that one
        return load_pem(key_path, cert_path, None)
    return made


def sign_pdf(
    data: bytes,
    signer: ReportCertificate,
    *,
    reason: str,
    timestamper: Any = None,
    field: str = SIGNATURE_FIELD,
) -> bytes:
    """Add one PAdES (ETSI.CAdES.detached) signature over the whole of ``data``."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def der(c: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))

    certificate = der(signer.certificate)
    key = asn1_keys.PrivateKeyInfo.load(
        signer.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    registry = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
        [certificate, *map(der, signer.chain)]
    )
    pdf_signer = signers.SimpleSigner(
        signing_cert=certificate, signing_key=key, cert_registry=registry
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=signer.certificate.subject.rfc4514_string(),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    out = signers.sign_pdf(writer, meta, signer=pdf_signer, timestamper=timestamper)
    signed: bytes = out.getvalue()
    return signed


def fingerprint(der_or_pem: bytes) -> str:
    """SHA-256 of a certificate's DER bytes (given PEM or DER)."""
    if der_or_pem.lstrip().startswith(b"-----BEGIN"):
        cert = x509.load_pem_x509_certificate(der_or_pem)
        return cert.fingerprint(hashes.SHA256()).hex()
    return hashlib.sha256(der_or_pem).hexdigest()
