"""The ledger as tlog-tiles over real HTTP, read by tlog-scales; classified entries stay in.

Hash tiles and the checkpoint are public. Entry bundles need ``ledger.read`` and a
clearance that covers every case with an entry in the bundle: an auditor cleared only for
internal cases is refused a bundle that holds a secret case's entries, and the refusal is
on the ledger.
"""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select
from tlog_scales.backend import HttpBackend
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey

from custody.merkle import leaf_hash
from custody.models import LedgerEntry
from tests.cli.served import Served
from tests.conftest import Actor, add_account


class TokenBackend:
    """tlog-scales' backend protocol over HTTP with a bearer token (entry bundles)."""

    def __init__(self, url: str, actor: Actor) -> None:
        self.http = httpx.Client(base_url=url, headers=actor.headers, timeout=30)

    def get(self, *path: str) -> bytes | None:
        r = self.http.get("/" + "/".join(path))
        return r.content if r.status_code == 200 else None


def fill(served: Served) -> None:
    with served.http() as h:
        for number, level in (("2026-OPEN-1", "internal"), ("2026-SECRET-1", "secret")):
            secrecy = (
                {"secrecy_period": "5", "secrecy_basis": "定密依据"} if level == "secret" else {}
            )
            r = h.post(
                "/api/v1/cases",
                json={"number": number, "title": number, "classification": level, **secrecy},
            )
            assert r.status_code == 201, r.text
            r = h.post(
                "/api/v1/evidence",
                files=[
                    ("metadata", (None, json.dumps({"case": number}))),
                    ("file", ("a.bin", b"x" * 99)),
                ],
            )
            assert r.status_code == 201, r.text


def stored(served: Served) -> list[LedgerEntry]:
    with served.ctx.session() as s:
        return list(s.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars())


def test_tlog_scales_reads_public_tiles_and_authorised_entries(served: Served) -> None:
    fill(served)
    public = TilesReader(HttpBackend(served.url))
    cp = public.get_checkpoint()
    cp.verify(Vkey.from_string(served.ctx.signing_key.verifier().to_text()))
    assert public.calculate_root_hash() == cp.root_hash
    rows = stored(served)[: cp.size]
    for row in rows:  # level-0 tiles hold exactly the entry hashes, nothing of the entries
        proof = public.get_inclusion_proof(row.seq, cp.size)
        proof.check(bytes.fromhex(row.entry_hash), cp.root_hash)
    tile = httpx.get(f"{served.url}/tile/0/000.p/{cp.size}").content
    assert tile == b"".join(bytes.fromhex(r.entry_hash) for r in rows)
    assert b"2026-SECRET-1" not in tile

    admin = TilesReader(TokenBackend(served.url, served.admin))  # top secret, ledger.read
    admin.set_size(cp.size)
    for row in rows:
        entry = admin.get_entry(row.seq)
        assert entry == row.canonical and leaf_hash(entry).hex() == row.entry_hash


def test_entry_bundles_with_classified_entries_are_refused_below_clearance(served: Served) -> None:
    fill(served)
    auditor = add_account(
        served.ctx, "audit.office", role="auditor", department="oversight", clearance="internal"
    )
    size = len(stored(served))
    path = f"/tile/entries/000.p/{size}"
    with httpx.Client(base_url=served.url, timeout=30) as h:
        assert h.get(path).status_code == 401
        assert h.get(path, headers=served.technician.headers).status_code == 403  # no ledger.read
        refused = h.get(path, headers=auditor.headers)
        assert refused.status_code == 403 and "clearance" in refused.json()["detail"]
        assert h.get(path, headers=served.admin.headers).status_code == 200
        first = h.get("/tile/entries/000.p/1", headers=auditor.headers)  # only the admin's entry
        assert first.status_code == 200 and b"2026-SECRET-1" not in first.content
    denials = [json.loads(r.canonical) for r in stored(served) if r.action == "access.denied"]
    assert any(d["actor"] == "audit.office" for d in denials)


def test_tiles_beyond_the_log_are_not_found_and_checkpoints_not_cached(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as h:
        assert h.get("/tile/0/000").status_code == 404  # no full tile yet
        assert h.get("/tile/0/x001/000").status_code == 404
        assert h.get("/tile/0/abc").status_code == 404
        r = h.get("/checkpoint")
        assert r.status_code == 200 and "no-cache" in r.headers["cache-control"]
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
