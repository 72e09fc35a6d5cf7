"""Request and response bodies (pydantic), split Create/Public as FastAPI's template does."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from api.fields import (
    AccountName,
    CaseNumber,
    ContentType,
    Department,
    Description,
    DisplayName,
    EnrolmentCodeText,
    Filename,
    Moment,
    OptionalReason,
    Reason,
    SealNumber,
    Switch,
    Title,
    Word,
)
from custody.text import json_text_problem

MAX_FILENAME_BYTES = 1024  # UTF-8; a name is a label in reports, not a document
FILE_NAME_TOO_LONG = "file_name_too_long"  # the validation error's type


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: CaseNumber = Field(description="Case number, e.g. 2026-XS-0117")
    title: Title
    classification: Word = "internal"
    department: Department | None = Field(
        default=None, description="Owning department; defaults to the creator's department"
    )
    secrecy_period: Word | None = Field(
        default=None,
        description="保密期限 of a classified case: years (10, 10年) or an end date (2030-06-30)",
    )
    secrecy_basis: OptionalReason | None = Field(
        default=None, description="定密依据: the rule the classification rests on"
    )


class SecrecyPublic(BaseModel):
    """The classification as the ledger records it (not the table), with its mark."""

    level: str
    mark: str | None = Field(description="「密级★期限」, e.g. 机密★10年; null when unclassified")
    period: dict[str, Any] | None
    basis: str
    proposer: str
    approver: str | None = Field(description="null while the decision awaits its leader")
    since: datetime
    ends_at: datetime | None
    review_due: bool = Field(description="the period is over: review it (never automatic)")
    pending_proposal: dict[str, Any] | None


class CasePublic(BaseModel):
    number: str
    title: str
    department: str
    classification: str
    created_at: datetime
    created_by: str
    evidence_count: int = 0
    secrecy: SecrecyPublic | None = None


class ClassificationProposal(BaseModel):
    """升密, 降密 or 解密 (or a new 定密): a proposal that a leader approves."""

    model_config = ConfigDict(extra="forbid")

    level: Word
    period: Word | None = Field(default=None, description="years or an end date; none to 解密")
    basis: OptionalReason = ""
    reason: Reason


class BorrowingCreate(BaseModel):
    """A borrowing slip (借阅单)."""

    model_config = ConfigDict(extra="forbid")

    items: list[str] | None = Field(default=None, max_length=1000, description="null: all items")
    permissions: list[Word] = Field(min_length=1, max_length=3)
    purpose: Reason
    starts_at: Moment | None = Field(default=None, description="default: now")
    ends_at: Moment


class DestructionCreate(BaseModel):
    """A destruction list (销毁清册): the items, the place, the supervising witness."""

    model_config = ConfigDict(extra="forbid")

    items: list[str] = Field(min_length=1, max_length=1000)
    reason: Reason
    place: DisplayName
    witness: AccountName


class WitnessBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place: DisplayName
    statement: Reason


class DerivedFrom(BaseModel):
    """Where a derived item came from: the parent item and the path inside it."""

    model_config = ConfigDict(extra="forbid")

    evidence: str = Field(min_length=36, max_length=36, description="The parent item's id")
    path: Description = Field(description="Its path inside the parent, e.g. /Users/a/b.docx")


class IntakeMetadata(BaseModel):
    """The ``metadata`` JSON of an intake."""

    model_config = ConfigDict(extra="forbid")

    case: CaseNumber
    filename: Filename | None = Field(
        default=None,
        description="Original file name, kept verbatim (any character but NUL); never used "
        "as a path, made header-safe for downloads",
    )
    content_type: ContentType | None = Field(
        default=None,
        description="Kept verbatim; a download carries it only if it is a valid MIME type",
    )
    description: Description = ""
    seal_no: SealNumber | None = None
    media: dict[str, Any] = Field(
        default_factory=dict, description="Media details: make, model, serial, capacity, …"
    )
    declared_digests: dict[str, str] = Field(
        default_factory=dict, description="Digests printed by the imaging tool, by algorithm"
    )
    algorithms: list[Word] = Field(
        default_factory=list,
        max_length=8,
        description="Extra algorithms to compute (md5, sha1, sm3)",
    )
    format: Literal["ewf", "raw", "file"] | None = Field(
        default=None,
        description="What the content is. Default: detected by signature (an EWF segment file "
        "is an image; several parts without one are a split raw image). `file` takes an "
        "image in as opaque bytes (a damaged E01, say), recorded as such",
    )
    declared_container_digests: dict[str, str] = Field(
        default_factory=dict,
        description="For an image: digests of the file(s) themselves, joined in order "
        "(`declared_digests` of an image describe its media, as imagers print them)",
    )
    parent: DerivedFrom | None = Field(
        default=None,
        description="The item this one was extracted from, and its path inside it "
        "(e.g. a file Autopsy exported from an E01)",
    )

    @field_validator("filename")
    @classmethod
    def _filename(cls, v: str | None) -> str | None:
        if v is not None and len(v.encode("utf-8")) > MAX_FILENAME_BYTES:
            raise PydanticCustomError(
                FILE_NAME_TOO_LONG,
                "the file name is {size} bytes of UTF-8; at most {limit} are allowed",
                {"size": len(v.encode("utf-8")), "limit": MAX_FILENAME_BYTES},
            )
        return v

    @field_validator("media")
    @classmethod
    def _media_is_text(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Keys and strings in ``media`` follow the free-text rule (custody.text)."""
        problem = json_text_problem(value, "media")
        if problem:
            raise ValueError(f"{problem}; only TAB, LF and CR are allowed")
        return value


class EvidenceStatePublic(BaseModel):
    custodian: str | None
    custodian_department: str | None
    legal_hold: bool
    status: str
    pending_transfer: dict[str, Any] | None
    pending_disposal: dict[str, Any] | None
    last_verification: dict[str, Any] | None
    retention_until: str | None = None


class PartPublic(BaseModel):
    index: int = Field(description="1-based: part N is segment N (E0N, .00N)")
    name: str
    size: int
    digests: dict[str, str]
    object_key: str
    object_version: str | None


class ImagePublic(BaseModel):
    format: str
    size: int = Field(description="Media size in bytes")
    digests: dict[str, str] = Field(
        description="Digests of the media (what md5sum of the raw disk gives), recomputed at intake"
    )
    stored_digests: dict[str, str] = Field(
        description="The hashes the imager stored in the image (EWF), checked at intake"
    )
    metadata: dict[str, Any] = Field(description="The imager's header values (ewf-header/1)")


class IntakeWarning(BaseModel):
    code: str
    message: str
    evidence: str | None = None


class EvidencePublic(BaseModel):
    id: str
    case: str
    original_filename: str
    content_type: str
    description: str
    seal_no: str | None
    media: dict[str, Any]
    size: int
    digests: dict[str, str]
    declared_digests: dict[str, str]
    object_key: str
    object_version: str | None
    storage: str
    retention_mode: str | None = Field(
        default=None, description="The lock applied at intake (COMPLIANCE, LOCAL-WORM)"
    )
    intake_time: datetime
    technician: str
    technician_department: str
    retention_until: datetime
    intake_seq: int
    ledger_findings: list[str] = Field(
        default_factory=list,
        description="Where the evidence table disagrees with the INTAKE entry (shown values "
        "are the ledger's); empty when they agree",
    )
    state: EvidenceStatePublic
    format: str = Field(default="file", description="file, ewf or raw")
    parts: list[PartPublic] = Field(
        default_factory=list, description="The stored files of an image, in segment order"
    )
    image: ImagePublic | None = None
    derived_from: dict[str, str] | None = Field(
        default=None, description="The parent item and the path inside it"
    )
    duplicate_of: list[dict[str, str]] = Field(
        default_factory=list,
        description="Items of the case with the same content when this one was taken in",
    )
    warnings: list[IntakeWarning] = Field(
        default_factory=list, description="What the intake answer draws attention to"
    )


class LedgerEntryPublic(BaseModel):
    seq: int
    hash: str = Field(description="hex SHA-256(0x00 || canonical)")
    canonical: str = Field(description="the stored canonical bytes, base64")
    entry: dict[str, Any]


class InclusionProofPublic(BaseModel):
    leaf_index: int
    tree_size: int
    hashes: list[str]


class ConsistencyProofPublic(BaseModel):
    first: int
    second: int
    hashes: list[str]


class CustodyEntryPublic(LedgerEntryPublic):
    proof: InclusionProofPublic


class CustodyHistoryPublic(BaseModel):
    evidence: str
    checkpoint: str = Field(description="signed note the proofs are against")
    tree_size: int
    root: str
    entries: list[CustodyEntryPublic]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: AccountName
    display_name: DisplayName
    role: Word
    department: Department
    clearance: Word = "internal"
    enrolment_hours: int = Field(
        default=72, ge=1, le=720, description="How long the enrolment code stays valid"
    )


class AccountPublic(BaseModel):
    name: str
    display_name: str
    role: str
    department: str
    clearance: str
    active: bool
    created_at: datetime
    created_by: str


class IssuedToken(BaseModel):
    """The token is shown here once and never again; only its hash is stored."""

    account: AccountPublic
    token_id: str
    token: str
    expires_at: datetime | None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_days: int | None = Field(default=None, ge=1, le=3650)


class EnrolmentIssued(BaseModel):
    """An enrolment code, shown here once. The administrator hands it to the account's
    holder, who exchanges it for a token (``POST /api/v1/enrolment``); the administrator
    never sees that token."""

    account: AccountPublic
    code_id: str
    code: str
    expires_at: datetime
    replaces_tokens: bool = Field(
        description="true when the account already holds tokens: exchanging this code "
        "revokes them (a lost token is replaced, never duplicated)"
    )


class EnrolmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: int = Field(default=72, ge=1, le=720, description="How long the code stays valid")


class EnrolmentExchange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: AccountName
    code: EnrolmentCodeText
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: AccountName
    permissions: list[Word] = Field(min_length=1, max_length=8)
    expires_at: Moment | None = None
    reason: OptionalReason = ""


class GrantPublic(BaseModel):
    id: str
    case: str
    account: str
    permissions: list[str]
    granted_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: AccountName
    reason: Reason


class TransferPublic(BaseModel):
    transfer_id: str
    evidence: str
    case: str
    from_account: str
    to_account: str
    reason: str
    started_at: str
    age_seconds: int


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class RetentionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: Moment = Field(description="New retain-until date; must be later than the current")
    reason: Reason


class LegalHoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: Switch = Field(description="true sets the hold, false clears it (a JSON boolean)")
    reason: Reason
