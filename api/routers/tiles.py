"""The ledger as a C2SP tlog-tiles log: ``/checkpoint``, ``/tile/<L>/<N>``, ``/tile/entries/<N>``.

The checkpoint and the hash tiles are public: they are hashes only, and anyone — a witness,
a court's mirror, a static web host — can audit the tree with any tlog-tiles client. Entry
bundles are the entries themselves (names, case numbers, file names), so they are served
only to accounts that may read the whole ledger (``ledger.read``), and a bundle holding an
entry of a case classified above the account's clearance is refused (and the refusal
recorded): classified entries never leave through tiles (docs/design-notes.md).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select
from sqlmodel import col

from api.authz import record_denial
from api.deps import AccountDep, ContextDep, SessionDep, guard
from api.openapi import problems
from api.services.checkpoints import cosigned_note, sign_checkpoint
from custody import ledger_store, policy, tiles
from custody.errors import PermissionDenied
from custody.models import Case

router = APIRouter(tags=["tiles"])

IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
MUTABLE = {"Cache-Control": "no-cache, max-age=5"}


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(ctx: ContextDep, session: SessionDep) -> PlainTextResponse:
    """The latest checkpoint with its cosignatures (tlog-tiles; mutable, not cached)."""
    row = sign_checkpoint(ctx, session)
    session.commit()
    return PlainTextResponse(
        cosigned_note(session, row), media_type="text/plain; charset=utf-8", headers=MUTABLE
    )


@router.get(
    "/tile/entries/{path:path}",
    dependencies=[guard(policy.Permission.LEDGER_READ)],
    responses=problems(403, 404),
)
def entry_bundle(path: str, session: SessionDep, account: AccountDep) -> Response:
    """An entry bundle: the entries' canonical bytes, each with a uint16 length."""
    ref = tiles.parse_tile_path(f"entries/{path}")
    seqs = tiles.entry_range(ref, ledger_store.size(session))
    rows = ledger_store.entries(session, seqs.start, seqs.stop)
    cases = {r.case_number for r in rows if r.case_number is not None}
    levels = session.execute(
        select(col(Case.number), col(Case.classification)).where(col(Case.number).in_(cases))
    ).all()
    clearance = policy.parse_level(account.clearance)
    above = sorted(n for n, level in levels if policy.parse_level(level) > clearance)
    if above:
        reason = (
            f"entry bundle {tiles.tile_path(ref)} holds entries of case(s) classified above "
            "your clearance; read the hash tiles, or ask an account cleared for them"
        )
        record_denial(session, account, policy.Permission.LEDGER_READ, reason)
        raise PermissionDenied(reason)
    body = tiles.entry_bundle([bytes(r.canonical) for r in rows])
    return Response(body, media_type="application/octet-stream", headers=IMMUTABLE)


@router.get("/tile/{path:path}", responses=problems(404))
def hash_tile(path: str, session: SessionDep) -> Response:
    """A Merkle tile: up to 256 hashes of complete subtrees (public, immutable)."""
    ref = tiles.parse_tile_path(path)
    data = tiles.hash_tile(ref, ledger_store.size(session), ledger_store.node_source(session))
    return Response(data, media_type="application/octet-stream", headers=IMMUTABLE)
