"""Rotating the ledger's signing key (administrators, ``keys.manage``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.services.rotation import rotate_key
from custody import policy

router = APIRouter(prefix="/api/v1/ledger/key", tags=["ledger"])


@router.post("/rotations", status_code=201, dependencies=[guard(policy.Permission.KEYS_MANAGE)])
def rotations(
    ctx: ContextDep,
    session: SessionDep,
    account: AccountDep,
    reason: Annotated[str, Body(embed=True, min_length=1, max_length=500)],
) -> dict[str, object]:
    """Rotate to a new key: a ledger entry signed by the old key names the new one.

    The checkpoint that includes the entry is the old key's last; later ones are signed by
    the new key. Old checkpoints keep verifying under the old key.
    """
    done = rotate_key(ctx, session, account, reason)
    return {
        "seq": done.seq,
        "old_key": done.old,
        "new_key": done.new,
        "checkpoint": done.checkpoint.note,
        "tree_size": done.checkpoint.size,
    }
