"""The ledger as anyone can check it: signed checkpoints, the verifier key, entries, proofs."""

from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from api.deps import ContextDep, SessionDep, guard
from api.openapi import problems
from api.schemas import ConsistencyProofPublic, InclusionProofPublic, LedgerEntryPublic
from api.services.checkpoints import cosigned_note, current_key, sign_checkpoint
from custody import ledger_store, policy
from custody.errors import NotFound

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])

MAX_SEQ = 2**63 - 1
"""Largest size or index accepted: the BIGINT columns' range (larger ones are refused with
400, not sent to a database that cannot compare them)."""


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    dependencies=[guard(policy.Permission.LEDGER_CHECKPOINT)],
)
def checkpoint(ctx: ContextDep, session: SessionDep) -> PlainTextResponse:
    """The latest checkpoint as a C2SP signed note, with the witnesses' cosignatures."""
    row = sign_checkpoint(ctx, session)
    session.commit()
    return PlainTextResponse(cosigned_note(session, row))


@router.get(
    "/checkpoints/{size}",
    response_class=PlainTextResponse,
    dependencies=[guard(policy.Permission.LEDGER_CHECKPOINT)],
    responses=problems(404),
)
def checkpoint_at(
    size: Annotated[int, Path(ge=0, le=MAX_SEQ)], session: SessionDep
) -> PlainTextResponse:
    """An earlier checkpoint, kept so that consistency with it can be proven later."""
    row = ledger_store.checkpoint_at(session, size)
    if row is None:
        raise NotFound(f"no checkpoint was signed at size {size}")
    return PlainTextResponse(cosigned_note(session, row))


@router.get(
    "/key",
    response_class=PlainTextResponse,
    dependencies=[guard(policy.Permission.LEDGER_CHECKPOINT)],
)
def verifier_key(ctx: ContextDep, session: SessionDep) -> PlainTextResponse:
    """The current verifier key in C2SP note form: ``name+keyid+base64(0x01||pubkey)``."""
    return PlainTextResponse(current_key(ctx, session).verifier().to_text() + "\n")


@router.get(
    "/entries",
    response_model=list[LedgerEntryPublic],
    dependencies=[guard(policy.Permission.LEDGER_READ)],
)
def entries(
    session: SessionDep,
    start: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    end: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> list[LedgerEntryPublic]:
    """Entries ``start <= seq < end`` (at most 1000) with their canonical bytes as stored."""
    stop = min(end if end is not None else start + ledger_store.MAX_PAGE, MAX_SEQ)
    return [
        LedgerEntryPublic(
            seq=e.seq,
            hash=e.entry_hash,
            canonical=base64.b64encode(e.canonical).decode(),
            entry=json.loads(e.canonical),
        )
        for e in ledger_store.entries(session, start, stop)
    ]


@router.get(
    "/proofs/inclusion",
    response_model=InclusionProofPublic,
    dependencies=[guard(policy.Permission.LEDGER_CHECKPOINT)],
)
def inclusion(
    session: SessionDep,
    index: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    size: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> InclusionProofPublic:
    hashes = ledger_store.inclusion_proof(session, index, size)
    return InclusionProofPublic(
        leaf_index=index, tree_size=size, hashes=[ledger_store.b64(h) for h in hashes]
    )


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProofPublic,
    dependencies=[guard(policy.Permission.LEDGER_CHECKPOINT)],
)
def consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=1, le=MAX_SEQ)],
    second: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> ConsistencyProofPublic:
    hashes = ledger_store.consistency_proof(session, first, second)
    return ConsistencyProofPublic(
        first=first, second=second, hashes=[ledger_store.b64(h) for h in hashes]
    )
