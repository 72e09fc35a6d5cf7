"""Rotating the ledger's signing key: a new key, a rotation entry the old key signs.

The new key is stored durably first (so no committed entry can name a key that was never
kept); then, under the ledger lock, the rotation entry is appended and the checkpoint that
includes it is signed by the old key, in one transaction. From the next entry on, every
checkpoint is signed by the new key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.context import AppContext
from api.keys import store_rotated_key
from api.services.checkpoints import current_key
from custody import ledger_store
from custody.checkpoint import SigningKey
from custody.errors import LedgerIntegrityError
from custody.ledger import Action, EntryDraft
from custody.models import Account, Checkpoint
from custody.rotation import rotation_details


@dataclass(frozen=True, kw_only=True)
class Rotated:
    seq: int
    old: str
    new: str
    checkpoint: Checkpoint


def rotate_key(ctx: AppContext, session: Session, account: Account, reason: str) -> Rotated:
    origin = ctx.settings.ledger_origin
    new = SigningKey.generate(origin)
    store_rotated_key(ctx.settings.signing_key_path, new)
    ledger_store.lock_head(session)
    old = current_key(ctx, session)  # under the lock: rotate from the key really current
    sealed = ledger_store.append(
        session,
        EntryDraft(
            actor=account.name,
            department=account.department,
            action=Action.KEY_ROTATED,
            details={**rotation_details(origin, old, new.verifier()), "reason": reason},
        ),
    )
    checkpoint = ledger_store.sign_current(session, old, origin)
    if checkpoint.size != sealed.seq + 1:
        raise LedgerIntegrityError("the rotation's checkpoint does not end at it", seq=sealed.seq)
    session.commit()
    ctx.signing_key = new
    return Rotated(
        seq=sealed.seq,
        old=old.verifier().to_text(),
        new=new.verifier().to_text(),
        checkpoint=checkpoint,
    )
