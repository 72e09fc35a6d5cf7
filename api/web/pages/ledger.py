"""The ledger page: the latest signed checkpoint, the verifier key, and who signed it."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import ContextDep, SessionDep
from api.routers import ledger as ledger_api
from api.routers import reports as reports_api
from api.web.auth import WebAccountDep, page_guard
from api.web.route import WebRoute
from api.web.templating import page
from custody import b64, policy
from custody.checkpoint import SIGNATURE_PREFIX, VerifierKey, open_checkpoint
from custody.errors import CustodyError

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass(frozen=True, kw_only=True)
class NoteSignature:
    name: str
    key_id: str
    kind: str  # "operator" (our key) or "cosignature" (a witness or another key)


def signatures(note: str, ours: VerifierKey) -> list[NoteSignature]:
    """Every signature line of a signed note, ours marked, the others (witnesses) named."""
    found = []
    for line in note[note.rfind("\n\n") + 2 :].splitlines():
        name, _, sig64 = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        try:
            key_id = b64.decode(sig64, "signature")[:4]
        except CustodyError:
            continue
        kind = "operator" if (name, key_id) == (ours.name, ours.key_id) else "cosignature"
        found.append(NoteSignature(name=name, key_id=key_id.hex(), kind=kind))
    return found


@router.get("/ledger", dependencies=[page_guard(policy.Permission.LEDGER_CHECKPOINT)])
def ledger_page(
    request: Request, ctx: ContextDep, session: SessionDep, account: WebAccountDep
) -> Response:
    """``GET /api/v1/ledger/checkpoint`` and ``/key``, opened here with our own key."""
    note = bytes(ledger_api.checkpoint(ctx, session).body).decode("utf-8")
    verifier = ctx.signing_key.verifier()
    checkpoint = open_checkpoint(note, [verifier])
    found = signatures(note, verifier)
    return page(
        request,
        "ledger.html",
        account=account,
        note=note,
        checkpoint=checkpoint,
        root_b64=base64.b64encode(checkpoint.root).decode(),
        root_hex=checkpoint.root.hex(),
        verifier_key=verifier.to_text(),
        key_id=verifier.key_id.hex(),
        report_cert=reports_api.certificate(ctx).sha256,
        signatures=found,
        cosigned=any(s.kind == "cosignature" for s in found),
        base_url=str(request.base_url).rstrip("/"),
    )
