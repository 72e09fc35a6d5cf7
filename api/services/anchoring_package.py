"""What an export adds for anchoring: the witness keys, the tokens, the key rotations.

The bundle writer checks all of it before it writes (custody.bundle.writer), and the
verifier trusts none of it but what the court's own keys and certificates confirm.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from api.context import AppContext
from custody import ledger_store, merkle
from custody.ledger import Action
from custody.models import LedgerEntry, Timestamp


def anchoring_package(ctx: AppContext, session: Session, size: int) -> dict[str, Any]:
    tokens = (
        session.execute(
            select(Timestamp).where(col(Timestamp.size) == size).order_by(col(Timestamp.gen_time))
        )
        .scalars()
        .all()
    )
    rotations = (
        session.execute(
            select(LedgerEntry)
            .where(col(LedgerEntry.action) == str(Action.KEY_ROTATED), col(LedgerEntry.seq) < size)
            .order_by(col(LedgerEntry.seq))
        )
        .scalars()
        .all()
    )
    anchor = ctx.anchor
    return {
        "witness_keys": [w.key.to_text() for w in anchor.witnesses] if anchor else [],
        "timestamps": [
            {"tsa": t.tsa, "token": base64.b64encode(t.token).decode(), "size": t.size}
            for t in tokens
        ],
        "rotations": [
            {
                "seq": r.seq,
                "canonical": base64.b64encode(r.canonical).decode(),
                "proof": merkle.inclusion_proof_json(
                    r.seq, size, ledger_store.inclusion_proof(session, r.seq, size)
                ),
            }
            for r in rotations
        ],
    }
