"""RFC 3161 timestamps over checkpoints: the request, and the offline check of a token.

A token is over SHA-256 of a checkpoint's note *body* (the signed text, without signature
lines), so cosignatures added later never change what was timestamped. Verification uses
rfc3161-client (a maintained implementation) against the TSA certificate the verifier
was given, never one the token carries on its own; its three failures have their own
names: ``untrusted`` (not signed by that TSA), ``other-hash`` (a token for another message)
and ``checkpoint-changed`` (the checkpoint no longer hashes to what was timestamped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from custody.errors import InputError, TimestampError

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")


def body_digest(body: str) -> bytes:
    """What a checkpoint's token is over: SHA-256 of its note body."""
    return hashlib.sha256(body.encode("utf-8")).digest()


def request_for(body: str) -> bytes:
    """A DER TimeStampReq over SHA-256 of a note body, with a nonce, asking for the cert."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    builder = TimestampRequestBuilder().data(body.encode("utf-8"))
    return bytes(builder.hash_algorithm(HashAlgorithm.SHA256).build().as_bytes())


@dataclass(frozen=True, kw_only=True)
class TsaTrust:
    """What a verifier trusts for one TSA: its certificate and the chain to a root."""

    tsa: x509.Certificate
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()

    @property
    def subject(self) -> str:
        return self.tsa.subject.rfc4514_string()


def _is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _time_stamping(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in eku


def load_trust(pem: bytes, where: str) -> TsaTrust:
    """A PEM file with the TSA certificate (EKU timeStamping) and its CA certificate(s)."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        raise InputError(f"{where}: not PEM certificates ({e})") from None
    tsa = [c for c in certs if _time_stamping(c)]
    if len(tsa) != 1:
        raise InputError(
            f"{where}: expected exactly one certificate with extended key usage timeStamping "
            f"(the TSA's), found {len(tsa)}"
        )
    roots = tuple(c for c in certs if _is_self_signed(c) and c is not tsa[0])
    if not roots:
        raise InputError(f"{where}: add the TSA's CA (root) certificate to the file")
    intermediates = tuple(c for c in certs if c not in roots and c is not tsa[0])
    return TsaTrust(tsa=tsa[0], roots=roots, intermediates=intermediates)


@dataclass(frozen=True, kw_only=True)
class VerifiedTimestamp:
    """A token that the trusted TSA signed over the checkpoint's body at ``time``."""

    time: datetime
    tsa: str
    serial: int


def token_digest(response_der: bytes) -> bytes:
    """The SHA-256 message imprint a TimeStampResp carries (unverified)."""
    from rfc3161_client import decode_timestamp_response

    try:
        response = decode_timestamp_response(response_der)
    except ValueError as e:
        raise TimestampError(f"not an RFC 3161 response: {e}", failure="malformed") from None
    imprint = response.tst_info.message_imprint
    if imprint.hash_algorithm != SHA256_OID:
        raise TimestampError("the token's message imprint is not SHA-256", failure="malformed")
    return bytes(imprint.message)


def verify_token(
    response_der: bytes, trust: TsaTrust, digest: bytes, *, checkpoint_ok: bool = True
) -> VerifiedTimestamp:
    """Check a DER TimeStampResp: signed by the trusted TSA, over ``digest``.

    ``checkpoint_ok`` says whether the checkpoint it is checked against verified on its own:
    when it did not, a mismatch means the checkpoint was changed, else the token is for
    another hash.
    """
    from rfc3161_client import VerificationError as TsaVerificationError
    from rfc3161_client import VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(response_der)
    except ValueError as e:
        raise TimestampError(f"not an RFC 3161 response: {e}", failure="malformed") from None
    imprint = bytes(token_digest(response_der))
    builder = VerifierBuilder(tsa_certificate=trust.tsa, roots=list(trust.roots))
    for cert in trust.intermediates:
        builder = builder.add_intermediate_certificate(cert)
    try:
        # the signature and the chain first, over the token's own imprint
        builder.build().verify(response, imprint)
    except (TsaVerificationError, ValueError) as e:
        raise TimestampError(
            f"not signed by the trusted TSA {trust.subject}: {e} — a wrong TSA certificate, "
            "or a forged token",
            failure="untrusted",
        ) from None
    if imprint != digest:
        if not checkpoint_ok:
            raise TimestampError(
                f"the checkpoint was changed after it was timestamped: the token is over "
                f"sha256 {imprint.hex()}, the checkpoint's body now hashes to {digest.hex()}",
                failure="checkpoint-changed",
            )
        raise TimestampError(
            f"the token is for another hash: sha256 {imprint.hex()}, not the checkpoint's "
            f"{digest.hex()}",
            failure="other-hash",
        )
    info = response.tst_info
    moment = info.gen_time
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return VerifiedTimestamp(time=moment, tsa=trust.subject, serial=int(info.serial_number))
