"""Each custody entry shown on an item page is proven against the checkpoint beside it.

The server checks the inclusion proofs it hands out before showing a tick, with the same
RFC 9162 code any verifier uses; a failure is shown, not hidden.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from api.web.services.timeline import Row
from custody import merkle
from custody.errors import CustodyError


@dataclass(frozen=True, kw_only=True)
class ProvenRow(Row):
    proven: bool
    proof: list[str] = field(default_factory=list)
    problem: str | None = None


def proven(row: Row, *, proof: Sequence[str], root: str, size: int) -> ProvenRow:
    problem = None
    try:
        merkle.verify_inclusion(
            leaf_hash=bytes.fromhex(row.hash),
            index=row.seq,
            size=size,
            proof=[base64.b64decode(h) for h in proof],
            root=base64.b64decode(root),
        )
    except (CustodyError, ValueError) as e:
        problem = e.message if isinstance(e, CustodyError) else str(e)
    values = {f: getattr(row, f) for f in Row.__dataclass_fields__}
    return ProvenRow(**values, proven=problem is None, proof=list(proof), problem=problem)
