"""Browser sessions of the web interface (api.web): hashed ids, expiry, the token used.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
# after the anchoring tables (0004)
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "account_name",
            sa.String(128),
            sa.ForeignKey("accounts.name"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "token_id", sa.String(32), sa.ForeignKey("api_tokens.id"), nullable=False, index=True
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
