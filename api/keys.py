"""The ledger signing key and the report certificate: created on first start or configured.

The key is written to a temp file, fsynced and linked into place, so a crash or a full
disk never leaves a truncated key behind, and two servers starting at once on one data
dir end up with the same key.
"""

from __future__ import annotations

from pathlib import Path

from api.reports import signing as report_signing
from api.settings import Settings
from custody.checkpoint import SigningKey
from custody.errors import CheckpointError, StorageFull, StorageMisconfigured
from storage.durable import create_exclusive, is_full


def load_or_create_signing_key(path: Path, origin: str, *, create: bool = True) -> SigningKey:
    """Load the note-format private key at ``path``; create it there if absent and allowed.

    The key's name is the ledger origin, so checkpoints name the log they belong to.
    """
    if path.exists():
        try:
            key = SigningKey.from_text(path.read_text())
        except CheckpointError as e:
            raise StorageMisconfigured(f"signing key {path} is unreadable: {e.message}") from e
        if key.name != origin:
            raise StorageMisconfigured(
                f"signing key {path} is named {key.name!r} but CUSTODY_LEDGER_ORIGIN is "
                f"{origin!r}; use the key that belongs to this ledger"
            )
        return key
    if not create:
        raise StorageMisconfigured(f"signing key {path} does not exist")
    key = SigningKey.generate(origin)
    try:
        created = create_exclusive(path, (key.to_text() + "\n").encode(), mode=0o600)
    except OSError as e:
        error = StorageFull if is_full(e) else StorageMisconfigured
        raise error(f"cannot write the signing key {path}: {e}") from e
    if not created:  # another server process created it first: use that one
        return load_or_create_signing_key(path, origin, create=False)
    return key


def load_report_certificate(settings: Settings) -> report_signing.ReportCertificate:
    """The PDF signer: a configured PKCS#12 or PEM pair, else the service's own (made once)."""
    if settings.report_pkcs12 is not None:
        if settings.report_cert is not None or settings.report_key is not None:
            raise StorageMisconfigured(
                "configure the report certificate either as CUSTODY_REPORT_PKCS12 or as "
                "CUSTODY_REPORT_CERT + CUSTODY_REPORT_KEY, not both"
            )
        return report_signing.load_pkcs12(settings.report_pkcs12, settings.report_pkcs12_passphrase)
    if (settings.report_cert is None) != (settings.report_key is None):
        raise StorageMisconfigured(
            "CUSTODY_REPORT_CERT and CUSTODY_REPORT_KEY go together: set both or neither"
        )
    if settings.report_cert is not None and settings.report_key is not None:
        return report_signing.load_pem(
            settings.report_key, settings.report_cert, settings.report_key_passphrase
        )
    return report_signing.load_or_create(
        settings.report_key_path,
        settings.report_cert_path,
        f"{settings.ledger_origin} report signer",
    )


# --- rotation: the ledger says which key is current --------------------------------------


def rotated_keys_dir(path: Path) -> Path:
    """Where keys the ledger rotated to are kept, beside the first key (each 0600)."""
    return path.parent / "signing-keys"


def store_rotated_key(path: Path, key: SigningKey) -> Path:
    """Write a new signing key durably before any entry names it (temp, fsync, link)."""
    target = rotated_keys_dir(path) / f"{key.key_id.hex()}.key"
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        created = create_exclusive(target, (key.to_text() + "\n").encode(), mode=0o600)
    except OSError as e:
        error = StorageFull if is_full(e) else StorageMisconfigured
        raise error(f"cannot write the new signing key {target}: {e}") from e
    if not created:
        raise StorageMisconfigured(f"{target} exists already; refusing to replace a key")
    return target


def load_rotated_key(path: Path, origin: str, verifier_text: str) -> SigningKey:
    """The private key of the verifier key a rotation entry named."""
    hex_id = verifier_text.split("+")[1] if verifier_text.count("+") >= 2 else ""
    target = rotated_keys_dir(path) / f"{hex_id}.key"
    if not target.is_file():
        raise StorageMisconfigured(
            f"the ledger rotated its key to {verifier_text}, but {target} is missing; restore "
            "it from the backup of the data directory"
        )
    key = load_or_create_signing_key(target, origin, create=False)
    if key.verifier().to_text() != verifier_text:
        raise StorageMisconfigured(f"{target} is not the key {verifier_text}")
    return key
