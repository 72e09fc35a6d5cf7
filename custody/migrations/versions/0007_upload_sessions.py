"""Resumable (tus) uploads (issue 15): one file staged until complete, then taken in.

Revision ID: 0007t
Revises: 0006i
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007t"
down_revision = "0006i"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "upload_sessions",
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
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("upload_length", sa.BigInteger(), nullable=False),
        sa.Column("upload_offset", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("evidence_id", sa.String(36), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("upload_sessions")
