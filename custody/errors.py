"""One exception hierarchy for the whole project.

Every error carries a stable machine-readable ``code`` (used as the problem-JSON ``type``
suffix and by the CLI) and a human message that says what was wrong and what to do.
Adapters (api/, storage/, cli/) map these to HTTP statuses and exit codes; nothing here
knows about HTTP. :func:`error_class_for` turns a code back into its class, so an error the
server reports is raised in the CLI as the same class, and exits as it would locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar


class CustodyError(Exception):
    """Base of every error this project raises on purpose."""

    code: ClassVar[str] = "custody-error"
    title: ClassVar[str] = "Custody error"

    status: int | None = None
    """The HTTP status, when the error is a server's answer rebuilt by the CLI."""
    reported_code: str | None = None
    """The code the server reported, when no class here has it (the class then follows
    the status)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = extra

    def diagnostics(self) -> str:
        """A human explanation, as sigstore-python's errors give."""
        return self.message


# --- bad input (nothing was changed) -------------------------------------------------


class InputError(CustodyError):
    """The request or command was malformed; nothing was changed."""

    code = "invalid-input"
    title = "Invalid input"


class MalformedMetadata(InputError):
    code = "malformed-metadata"
    title = "Malformed metadata"


class FileNameTooLong(MalformedMetadata):
    """A file name is a label in reports and registers; it has a length limit."""

    code = "file-name-too-long"
    title = "File name too long"


class MalformedJSON(InputError):
    """A JSON request body is not strict I-JSON (too deep, NaN, duplicate keys, …)."""

    code = "malformed-json"
    title = "Malformed JSON"


class MalformedMultipart(InputError):
    code = "malformed-multipart"
    title = "Malformed multipart body"


class InvalidCharacters(InputError):
    """A path, query or field holds a character it may not (NUL, other control characters)."""

    code = "invalid-characters"
    title = "Invalid characters"


class InvalidDigest(InputError):
    code = "invalid-digest"
    title = "Invalid declared digest"


class UnknownAlgorithm(InputError):
    code = "unknown-algorithm"
    title = "Unknown digest algorithm"


class MissingFile(InputError):
    code = "missing-file"
    title = "No file in the request"


class UploadTooLarge(InputError):
    code = "upload-too-large"
    title = "Upload too large"


class UploadAborted(InputError):
    code = "upload-aborted"
    title = "Upload aborted"


class DigestMismatch(InputError):
    """A digest declared by the imaging tool differs from the one computed on intake."""

    code = "digest-mismatch"
    title = "Declared digest does not match the content"


class StoredDigestMismatch(DigestMismatch):
    """The media no longer hashes to what the imager stored in the image (E01 hash section)."""

    code = "stored-digest-mismatch"
    title = "The image's stored hash does not match its media"


class ImageError(InputError):
    """A forensic image (EWF, split raw) is malformed or incomplete; nothing was recorded."""

    code = "image-invalid"
    title = "Invalid forensic image"


class SegmentMissing(ImageError):
    """A segment of a multi-part image (E02, .003, …) is not there."""

    code = "segment-missing"
    title = "Image segment missing"


class SegmentOutOfOrder(ImageError):
    """A part holds another segment than its place in the set says (swapped or renamed)."""

    code = "segment-out-of-order"
    title = "Image segment out of order"


class NotFound(CustodyError):
    code = "not-found"
    title = "Not found"


class UnknownCase(NotFound):
    code = "unknown-case"
    title = "Unknown case"


class UnknownEvidence(NotFound):
    code = "unknown-evidence"
    title = "Unknown evidence"


class UnknownPart(NotFound):
    """The item has no stored part with that number (or is one file, not an image)."""

    code = "unknown-part"
    title = "Unknown part"


class UnknownAccount(NotFound):
    code = "unknown-account"
    title = "Unknown account"


class Conflict(CustodyError):
    code = "conflict"
    title = "Conflict"


class NumberUnavailable(Conflict):
    """The case number is taken; the answer never says by whom (numbers must not leak)."""

    code = "number-unavailable"
    title = "Case number not available"


class InvalidState(Conflict):
    """The action is not possible in the evidence's current state (e.g. disposal under hold)."""

    code = "invalid-state"
    title = "Action not possible in the current state"


class UnknownProcedureRecord(NotFound):
    """A borrowing, classification proposal, destruction list or copy number not on record."""

    code = "unknown-procedure-record"
    title = "No such borrowing, proposal, destruction list or copy"


class CopyNumberTaken(Conflict):
    """A numbered copy (第 N 份) was taken by a concurrent copy; the request can be repeated."""

    code = "copy-number-taken"
    title = "Copy number taken"


class UnknownIntakeSession(NotFound):
    code = "unknown-intake-session"
    title = "Unknown intake session"


class IntakeSessionClosed(InvalidState):
    """The multi-part intake was completed or abandoned; it takes no more parts."""

    code = "intake-session-closed"
    title = "Intake session closed"


class PartConflict(Conflict):
    """A part number already holds other content; a part, once stored, is never replaced."""

    code = "part-conflict"
    title = "Part already holds other content"


class UnknownUpload(NotFound):
    """No resumable upload (tus) of that id belongs to the caller."""

    code = "unknown-upload"
    title = "Unknown upload"


class UploadExpired(NotFound):
    """A resumable upload that was not finished in time; it was abandoned and swept."""

    code = "upload-expired"
    title = "Upload expired"


class UploadOffsetMismatch(Conflict):
    """A resumable upload's PATCH does not start at the offset the server holds."""

    code = "upload-offset-mismatch"
    title = "Upload offset mismatch"


class UploadBusy(Conflict):
    """Another request is appending to the same resumable upload."""

    code = "upload-busy"
    title = "Upload busy"


class TusVersionUnsupported(InputError):
    """A tus request without ``Tus-Resumable: 1.0.0``."""

    code = "tus-version-unsupported"
    title = "Unsupported tus version"


class UnsupportedMediaType(InputError):
    """A request body of a media type the route does not take."""

    code = "unsupported-media-type"
    title = "Unsupported media type"


# --- who may do what ------------------------------------------------------------------


class AuthenticationRequired(CustodyError):
    code = "authentication-required"
    title = "Authentication required"


class PermissionDenied(CustodyError):
    code = "permission-denied"
    title = "Permission denied"


class InvalidEnrolmentCode(AuthenticationRequired):
    """An enrolment code that is unknown, used, withdrawn or expired (one answer for all)."""

    code = "invalid-enrolment-code"
    title = "Invalid enrolment code"


# --- verification (integrity problems found) ----------------------------------------


class VerificationError(CustodyError):
    """An integrity check failed: the data does not prove what it claims."""

    code = "verification-failed"
    title = "Verification failed"


class ProofError(VerificationError):
    code = "invalid-proof"
    title = "Invalid Merkle proof"


class CheckpointError(VerificationError):
    code = "invalid-checkpoint"
    title = "Invalid checkpoint or signature"


class LedgerIntegrityError(VerificationError):
    """The ledger's hash chain or Merkle tree does not hold; ``seq`` names the first bad entry."""

    code = "ledger-integrity"
    title = "Ledger integrity failure"

    def __init__(self, message: str, *, seq: int | None = None, **extra: Any) -> None:
        super().__init__(message, seq=seq, **extra)

    @property
    def seq(self) -> int | None:
        """Read from ``extra``, so that an error rebuilt from problem JSON keeps it too."""
        value = self.extra.get("seq")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class CosignatureError(VerificationError):
    """Too few trusted witnesses vouch for a checkpoint, or a cosignature is forged."""

    code = "invalid-cosignature"
    title = "Missing or invalid witness cosignature"


class SplitView(VerificationError):
    """Two checkpoints signed by the log's key give two roots for one tree: misbehaviour."""

    code = "split-view"
    title = "Split view: the log signed two histories"


class TimestampError(VerificationError):
    """An RFC 3161 token does not prove what it is said to prove; ``failure`` says how."""

    code = "invalid-timestamp"
    title = "Invalid RFC 3161 timestamp"

    def __init__(self, message: str, *, failure: str = "unspecified", **extra: Any) -> None:
        super().__init__(message, failure=failure, **extra)

    @property
    def failure(self) -> str:
        return str(self.extra.get("failure"))


class BundleError(VerificationError):
    code = "bundle-invalid"
    title = "Court bundle failed verification"


# --- the server ----------------------------------------------------------------------


class ServerError(CustodyError):
    """The server, or a service behind it, failed or cannot be reached; retry later."""

    code = "server-error"
    title = "Server error"


class ServerUnavailable(ServerError):
    """The CLI cannot reach the custody server at all."""

    code = "server-unavailable"
    title = "Server unavailable"


# --- infrastructure -------------------------------------------------------------------


class ImageSupportMissing(ServerError):
    """Reading EWF media needs libewf's Python bindings, which this install lacks."""

    code = "ewf-unavailable"
    title = "EWF support not installed"


class DatabaseUnavailable(CustodyError):
    """The database cannot be reached or is not answering; nothing was changed."""

    code = "database-unavailable"
    title = "Database unavailable"


class InternalError(CustodyError):
    """An unexpected fault; the answer names a request id that the operator's log explains."""

    code = "internal-error"
    title = "Internal error"


class WitnessRefused(ServerError):
    """A witness answered and would not cosign (kept on the log's anchoring status)."""

    code = "witness-refused"
    title = "Witness refused the checkpoint"


# --- storage ----------------------------------------------------------------------------


class StorageError(CustodyError):
    code = "storage-error"
    title = "Storage error"


class StorageUnavailable(StorageError):
    code = "storage-unavailable"
    title = "Storage unavailable"


class StorageFull(StorageError):
    """The disk or quota is full (ENOSPC/EDQUOT); nothing of the upload was kept."""

    code = "storage-full"
    title = "Storage full"


class ObjectMissing(StorageError):
    code = "object-missing"
    title = "Stored object missing"


class RetentionActive(StorageError):
    """Deletion or shortening refused because the object is still under retention or hold."""

    code = "retention-active"
    title = "Object is under retention"


class StorageMisconfigured(StorageError):
    code = "storage-misconfigured"
    title = "Storage is not configured safely"


# --- the registry ---------------------------------------------------------------------


def _subclasses(cls: type[CustodyError]) -> list[type[CustodyError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


def error_classes() -> Mapping[str, type[CustodyError]]:
    """Every error class by its code; two classes claiming one code is a programming error."""
    registry: dict[str, type[CustodyError]] = {}
    for cls in _subclasses(CustodyError):
        if "code" not in vars(cls):
            raise TypeError(f"{cls.__qualname__} does not declare its own code")
        other = registry.setdefault(cls.code, cls)
        if other is not cls:
            raise TypeError(
                f"{cls.__qualname__} and {other.__qualname__} both claim code {cls.code!r}"
            )
    return MappingProxyType(registry)


def error_class_for(code: str) -> type[CustodyError] | None:
    """The class whose ``code`` this is (e.g. a problem JSON ``type`` suffix), or None."""
    return error_classes().get(code)
