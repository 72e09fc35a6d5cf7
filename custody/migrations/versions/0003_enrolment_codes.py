"""Enrolment codes: an administrator issues one, the account's holder exchanges it for a token.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "account_name",
            sa.String(128),
            sa.ForeignKey("accounts.name"),
            nullable=False,
            index=True,
        ),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("withdrawn_at", TS),
    )


def downgrade() -> None:
    op.drop_table("enrolment_codes")
