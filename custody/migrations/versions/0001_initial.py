"""Initial schema: cases, evidence, the append-only ledger, accounts and grants.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")
TS = sa.DateTime(timezone=True)
SQLITE_KEYS = {
    "ledger_entries": "seq = NEW.seq OR entry_hash = NEW.entry_hash",
    "ledger_nodes": "level = NEW.level AND idx = NEW.idx",
    "ledger_checkpoints": "size = NEW.size",
}


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("number", sa.String(128), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("department", sa.String(128), nullable=False, index=True),
        sa.Column("classification", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "case_number", sa.String(128), sa.ForeignKey("cases.number"), nullable=False, index=True
        ),
        sa.Column("original_filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("seal_no", sa.String(128)),
        sa.Column("media", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("digests", sa.Text, nullable=False),
        sa.Column("declared_digests", sa.Text, nullable=False),
        sa.Column("object_key", sa.String(255), nullable=False, index=True),
        sa.Column("object_version", sa.String(255)),
        sa.Column("storage_backend", sa.String(16), nullable=False),
        sa.Column("intake_time", TS, nullable=False),
        sa.Column("technician", sa.String(128), nullable=False),
        sa.Column("technician_department", sa.String(128), nullable=False),
        sa.Column("retention_until", TS, nullable=False),
        sa.Column("intake_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("canonical", sa.LargeBinary, nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("case_number", sa.String(128), index=True),
        sa.Column("evidence_id", sa.String(36), index=True),
        sa.Column("actor", sa.String(128), nullable=False, index=True),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.execute(
        sa.text("INSERT INTO ledger_head (id, size, last_hash) VALUES (1, 0, :h)").bindparams(
            h="0" * 64
        )
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("department", sa.String(128), nullable=False, index=True),
        sa.Column("clearance", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "account_name",
            sa.String(128),
            sa.ForeignKey("accounts.name"),
            nullable=False,
            index=True,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "case_number", sa.String(128), sa.ForeignKey("cases.number"), nullable=False, index=True
        ),
        sa.Column(
            "account_name",
            sa.String(128),
            sa.ForeignKey("accounts.name"),
            nullable=False,
            index=True,
        ),
        sa.Column("permissions", sa.String(128), nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("revoked_by", sa.String(128)),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The database itself refuses UPDATE and DELETE on the ledger tables (DESIGN §3.3)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
                )
        # INSERT OR REPLACE deletes the clashing row without firing DELETE triggers (unless
        # recursive_triggers is on), so refuse any insert whose key already exists.
        for table, clash in SQLITE_KEYS.items():
            op.execute(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION custody_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION custody_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change()"
            )
    else:
        raise RuntimeError(f"unsupported database dialect {dialect}; use SQLite or PostgreSQL")
