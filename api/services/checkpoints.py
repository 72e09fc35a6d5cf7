"""Signing and publishing checkpoints: the ledger's current key, and the cosigned note.

Which key signs is a fact of the ledger (its latest ``ledger.key_rotated`` entry), not of
the process: every signing path asks here first, so a replica that did not perform a
rotation still signs with the key the ledger names.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from api.context import AppContext
from api.keys import load_rotated_key
from custody import ledger_store
from custody.checkpoint import SigningKey
from custody.ledger import Action
from custody.models import Checkpoint, Cosignature, LedgerEntry


def current_key(ctx: AppContext, session: Session) -> SigningKey:
    """The key the ledger's last rotation named (or the first key); kept on the context."""
    canonical = session.execute(
        select(col(LedgerEntry.canonical))
        .where(col(LedgerEntry.action) == str(Action.KEY_ROTATED))
        .order_by(col(LedgerEntry.seq).desc())
        .limit(1)
    ).scalar_one_or_none()
    if canonical is None:
        return ctx.signing_key
    named = str(json.loads(canonical)["details"]["new_key"])
    if ctx.signing_key.verifier().to_text() != named:
        ctx.signing_key = load_rotated_key(
            ctx.settings.signing_key_path, ctx.settings.ledger_origin, named
        )
    return ctx.signing_key


def sign_checkpoint(ctx: AppContext, session: Session) -> Checkpoint:
    """The checkpoint at the current size, signed (once per size) by the current key."""
    return ledger_store.sign_current(session, current_key(ctx, session), ctx.settings.ledger_origin)


def cosigned_note(session: Session, row: Checkpoint) -> str:
    """The checkpoint note with every witness cosignature received for it appended."""
    lines = (
        session.execute(
            select(col(Cosignature.line))
            .where(col(Cosignature.size) == row.size)
            .order_by(col(Cosignature.witness))
        )
        .scalars()
        .all()
    )
    return row.note + "".join(lines)
