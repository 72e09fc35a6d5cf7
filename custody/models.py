"""The project's data model (SQLModel tables). Pure modules never import this.

Evidence rows hold only the facts fixed at intake; what changes later (custodian, legal
hold, status) is derived from ledger entries. The ledger tables (entries, nodes,
checkpoints) are append-only: database triggers refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

# the column types of the migrations, exactly (a test compares them with alembic): sizes
# and sequence numbers are 64-bit, every time is stored with its zone
TS = DateTime(timezone=True)


class Case(SQLModel, table=True):
    __tablename__ = "cases"

    number: str = Field(primary_key=True, max_length=128)
    title: str = Field(max_length=500)
    department: str = Field(max_length=128, index=True)
    classification: str = Field(default="internal", max_length=32)
    created_at: datetime = Field(sa_type=TS)
    created_by: str = Field(max_length=128)


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"

    id: str = Field(primary_key=True, max_length=36)
    case_number: str = Field(foreign_key="cases.number", index=True, max_length=128)
    original_filename: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = Field(max_length=255)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    seal_no: str | None = Field(default=None, max_length=128)
    media: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    size: int = Field(sa_type=BigInteger)
    digests: str = Field(sa_column=Column(Text, nullable=False))  # JSON {"blake3": …}
    declared_digests: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    object_key: str = Field(max_length=255, index=True)
    object_version: str | None = Field(default=None, max_length=255)
    storage_backend: str = Field(max_length=16)
    intake_time: datetime = Field(sa_type=TS)
    technician: str = Field(max_length=128)
    technician_department: str = Field(max_length=128)
    retention_until: datetime = Field(sa_type=TS)
    intake_seq: int = Field(sa_type=BigInteger)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    # a case's entries in order: the per-case hash chain's lookups (migration 0002)
    __table_args__ = (Index("ix_ledger_entries_case_seq", "case_number", "seq"),)

    seq: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    entry_hash: str = Field(max_length=64, unique=True)
    canonical: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    action: str = Field(max_length=64, index=True)
    case_number: str | None = Field(default=None, max_length=128, index=True)
    evidence_id: str | None = Field(default=None, max_length=36, index=True)
    actor: str = Field(max_length=128, index=True)
    recorded_at: datetime = Field(sa_type=TS)


class LedgerNode(SQLModel, table=True):
    """A complete Merkle subtree: leaves [idx·2^level, (idx+1)·2^level)."""

    __tablename__ = "ledger_nodes"

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerHead(SQLModel, table=True):
    """One row, locked by every append so that all writers take one order."""

    __tablename__ = "ledger_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    size: int = Field(default=0, sa_type=BigInteger)
    last_hash: str = Field(default="0" * 64, max_length=64)


class Checkpoint(SQLModel, table=True):
    __tablename__ = "ledger_checkpoints"

    size: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    root: str = Field(max_length=64)
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=TS)


class Cosignature(SQLModel, table=True):
    """A witness's cosignature/v1 line on the checkpoint of one size (migration 0003)."""

    __tablename__ = "ledger_cosignatures"

    size: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    witness: str = Field(primary_key=True, max_length=255)  # name+hexkeyid
    line: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: datetime = Field(sa_type=TS)  # the cosignature's own timestamp
    received_at: datetime = Field(sa_type=TS)


class Timestamp(SQLModel, table=True):
    """An RFC 3161 token over SHA-256 of the body of the checkpoint of ``size`` (0003)."""

    __tablename__ = "ledger_timestamps"

    id: str = Field(primary_key=True, max_length=32)
    size: int = Field(sa_type=BigInteger, index=True)
    tsa: str = Field(max_length=512)
    body_sha256: str = Field(max_length=64)
    token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # DER TimeStampResp
    gen_time: datetime = Field(sa_type=TS)
    created_at: datetime = Field(sa_type=TS)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    name: str = Field(primary_key=True, max_length=128)
    display_name: str = Field(max_length=255)
    role: str = Field(max_length=32)
    department: str = Field(max_length=128, index=True)
    clearance: str = Field(max_length=32)
    active: bool = True
    created_at: datetime = Field(sa_type=TS)
    created_by: str = Field(max_length=128)


class ApiToken(SQLModel, table=True):
    """Only the SHA-256 of a token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=32)
    account_name: str = Field(foreign_key="accounts.name", index=True, max_length=128)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=TS)
    expires_at: datetime | None = Field(default=None, sa_type=TS)
    revoked_at: datetime | None = Field(default=None, sa_type=TS)


class Grant(SQLModel, table=True):
    __tablename__ = "grants"

    id: str = Field(primary_key=True, max_length=36)
    case_number: str = Field(foreign_key="cases.number", index=True, max_length=128)
    account_name: str = Field(foreign_key="accounts.name", index=True, max_length=128)
    permissions: str = Field(max_length=128)  # comma-separated: view,verify,download,export
    granted_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=TS)
    expires_at: datetime | None = Field(default=None, sa_type=TS)
    revoked_at: datetime | None = Field(default=None, sa_type=TS)
    revoked_by: str | None = Field(default=None, max_length=128)


class EnrolmentCode(SQLModel, table=True):
    """A one-time code an administrator hands over and the account's holder exchanges.

    The token is made at the exchange, so no administrator ever holds a working token for
    another account. Only the SHA-256 of the code is stored; it expires, is spent by the
    first exchange, and is withdrawn when a newer code is issued for the same account.
    """

    __tablename__ = "enrolment_codes"

    id: str = Field(primary_key=True, max_length=32)
    account_name: str = Field(foreign_key="accounts.name", index=True, max_length=128)
    code_hash: str = Field(max_length=64, unique=True)
    issued_by: str = Field(max_length=128)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    withdrawn_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A browser sign-in (api.web): only the SHA-256 of the session id is stored.

    It names the API token it was opened with, so revoking that token (or deactivating the
    account) ends the session too; signing out deletes the row.
    """

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    account_name: str = Field(foreign_key="accounts.name", index=True, max_length=128)
    token_id: str = Field(foreign_key="api_tokens.id", index=True, max_length=32)
    created_at: datetime = Field(sa_type=TS)
    expires_at: datetime = Field(sa_type=TS)


class IntakeSession(SQLModel, table=True):
    """A multi-part intake (issue 14): parts arrive one by one, the item is made at completion.

    Not a record: what counts is on the ledger (the INTAKE entry made at completion, or the
    refusal). The session only says which parts are stored so far, so an upload can resume.
    """

    __tablename__ = "intake_sessions"

    id: str = Field(primary_key=True, max_length=36)
    case_number: str = Field(foreign_key="cases.number", index=True, max_length=128)
    account_name: str = Field(foreign_key="accounts.name", index=True, max_length=128)
    metadata_json: str = Field(sa_column=Column(Text, nullable=False))  # the IntakeMetadata
    state: str = Field(max_length=16)  # open, completed, abandoned, refused
    created_at: datetime = Field(sa_type=TS)
    closed_at: datetime | None = Field(default=None, sa_type=TS)
    evidence_id: str | None = Field(default=None, max_length=36)


class UploadSession(SQLModel, table=True):
    """A resumable (tus) upload of one file: staged under the data dir until complete.

    Not a record either: the evidence row and its INTAKE entry are made only when the last
    byte has arrived and the whole file passed the intake's checks. ``upload_offset`` is
    the durable offset: the staged file's length after its last fsync.
    """

    __tablename__ = "upload_sessions"

    id: str = Field(primary_key=True, max_length=36)
    case_number: str = Field(foreign_key="cases.number", index=True, max_length=128)
    account_name: str = Field(foreign_key="accounts.name", index=True, max_length=128)
    metadata_json: str = Field(sa_column=Column(Text, nullable=False))  # the IntakeMetadata
    upload_length: int = Field(sa_type=BigInteger)
    upload_offset: int = Field(sa_type=BigInteger)
    state: str = Field(max_length=16)  # open, completed, terminated, abandoned, refused
    created_at: datetime = Field(sa_type=TS)
    updated_at: datetime = Field(sa_type=TS)  # the last byte made durable (or creation)
    closed_at: datetime | None = Field(default=None, sa_type=TS)
    evidence_id: str | None = Field(default=None, max_length=36)


class IntakeSessionPart(SQLModel, table=True):
    """One stored part of an open intake session: where it is and what it hashed to."""

    __tablename__ = "intake_session_parts"

    session_id: str = Field(foreign_key="intake_sessions.id", primary_key=True, max_length=36)
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(sa_column=Column(Text, nullable=False))
    size: int = Field(sa_type=BigInteger)
    digests: str = Field(sa_column=Column(Text, nullable=False))  # JSON {"blake3": …}
    object_key: str = Field(max_length=255)
    object_version: str | None = Field(default=None, max_length=255)
    created: bool  # this upload stored new bytes (else identical content was there)
    head: str = Field(max_length=64)  # hex of the first 32 bytes: the EWF file header
    tail: str = Field(max_length=152)  # hex of the last 76 bytes: the closing section
    received_at: datetime = Field(sa_type=TS)
