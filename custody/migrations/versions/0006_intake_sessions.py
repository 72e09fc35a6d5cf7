"""Multi-part intake sessions (issue 14): an image's parts stored one by one, then completed.

Revision ID: 0006i
Revises: 0005

Named 0006i so as not to collide with the classified-material branch's 0006; the two are
re-chained when they are merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006i"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intake_sessions",
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
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("evidence_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "intake_session_parts",
        sa.Column(
            "session_id",
            sa.String(36),
            sa.ForeignKey("intake_sessions.id"),
            primary_key=True,
        ),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("digests", sa.Text(), nullable=False),
        sa.Column("object_key", sa.String(255), nullable=False),
        sa.Column("object_version", sa.String(255), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("tail", sa.String(152), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_session_parts")
    op.drop_table("intake_sessions")
