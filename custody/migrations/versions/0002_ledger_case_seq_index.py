"""Index a case's ledger entries in order (the per-case hash chain looks them up).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_entries_case_seq", "ledger_entries", ["case_number", "seq"])
