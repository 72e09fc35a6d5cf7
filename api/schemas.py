"""Request and response bodies (pydantic), split Create/Public as FastAPI's template does."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
MAX_FILENAME_BYTES = 1024  # UTF-8; a name is a label in reports, not a document


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(description="Case number, e.g. 2026-XS-0117")
    title: str = Field(min_length=1, max_length=500)
    classification: str = "internal"
    department: str | None = Field(
        default=None, description="Owning department; defaults to the creator's department"
    )

    @field_validator("number")
    @classmethod
    def _number(cls, v: str) -> str:
        if not CASE_NUMBER.match(v):
            raise ValueError(
                "case number must be 1-128 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        return v


class CasePublic(BaseModel):
    number: str
    title: str
    department: str
    classification: str
    created_at: datetime
    created_by: str
    evidence_count: int = 0


class IntakeMetadata(BaseModel):
    """The ``metadata`` JSON of an intake."""

    model_config = ConfigDict(extra="forbid")

    case: str
    filename: str | None = Field(
        default=None, description="Original file name, kept as given; never used as a path"
    )
    content_type: str | None = None
    description: str = Field(default="", max_length=10_000)
    seal_no: str | None = Field(default=None, max_length=128)
    media: dict[str, Any] = Field(
        default_factory=dict, description="Media details: make, model, serial, capacity, …"
    )
    declared_digests: dict[str, str] = Field(
        default_factory=dict, description="Digests printed by the imaging tool, by algorithm"
    )
    algorithms: list[str] = Field(
        default_factory=list, description="Extra algorithms to compute (md5, sha1, sm3)"
    )

    @field_validator("filename")
    @classmethod
    def _filename(cls, v: str | None) -> str | None:
        if v is not None and len(v.encode("utf-8")) > MAX_FILENAME_BYTES:
            raise ValueError(
                f"the file name is {len(v.encode('utf-8'))} bytes of UTF-8; at most "
                f"{MAX_FILENAME_BYTES} are allowed"
            )
        return v


class EvidenceStatePublic(BaseModel):
    custodian: str | None
    custodian_department: str | None
    legal_hold: bool
    status: str
    pending_transfer: dict[str, Any] | None
    pending_disposal: dict[str, Any] | None
    last_verification: dict[str, Any] | None
    retention_until: str | None = None


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

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._\-]{0,127}$")
    display_name: str = Field(min_length=1, max_length=255)
    role: str
    department: str = Field(min_length=1, max_length=128)
    clearance: str = "internal"
    token_expires_days: int | None = Field(default=None, ge=1, le=3650)


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


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str
    permissions: list[str] = Field(min_length=1)
    expires_at: datetime | None = None
    reason: str = Field(default="", max_length=2000)


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

    to: str
    reason: str = Field(min_length=1, max_length=2000)


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

    reason: str = Field(min_length=1, max_length=2000)


class RetentionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: datetime = Field(description="New retain-until date; must be later than the current")
    reason: str = Field(min_length=1, max_length=2000)


class LegalHoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: bool
    reason: str = Field(min_length=1, max_length=2000)
