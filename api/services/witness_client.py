"""Submitting a checkpoint to one C2SP tlog-witness (``add-checkpoint``) and checking its answer.

The request carries the size the witness last cosigned and a consistency proof from it;
a 409 tells that size, and the request is made once more from there. What the witness
returns is verified before it is kept (verify, then persist): a cosignature that does not
verify under the witness's configured key is an error, never a stored line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from api.services.url_pairs import url_pairs
from custody import b64
from custody.checkpoint import split_note
from custody.cosignature import WitnessKey
from custody.errors import CustodyError, InputError, ServerError, WitnessRefused

SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True, kw_only=True)
class WitnessConfig:
    """One witness the log submits to: its submission prefix and its verifier key."""

    url: str
    key: WitnessKey

    @property
    def label(self) -> str:
        return self.key.label


def parse_witnesses(text: str) -> list[WitnessConfig]:
    """``CUSTODY_WITNESSES``: a JSON list of ``{"url", "key"}`` or ``url=key,url=key``."""
    pairs = url_pairs(text, setting="CUSTODY_WITNESSES", field="key")
    try:
        return [WitnessConfig(url=url.rstrip("/"), key=WitnessKey.from_text(k)) for url, k in pairs]
    except CustodyError as e:
        raise InputError(f"CUSTODY_WITNESSES: {e.message}") from e


ProofSource = Callable[[int], Sequence[bytes]]
"""``proof(old)``: the consistency proof from tree size ``old`` to the checkpoint's."""


@dataclass(frozen=True, kw_only=True)
class Cosigned:
    line: str
    timestamp: int
    witness_size: int


def submit(
    http: httpx.Client, witness: WitnessConfig, note: str, size: int, old: int, proof: ProofSource
) -> Cosigned:
    """Ask ``witness`` to cosign ``note`` (of tree ``size``), starting from ``old``."""
    for _ in range(3):
        if old > size:
            raise WitnessRefused(
                f"{witness.label} has cosigned size {old}, beyond this checkpoint ({size})"
            )
        hashes = proof(old) if 0 < old < size else []
        body = f"old {old}\n" + "".join(b64.encode(h) + "\n" for h in hashes) + "\n" + note
        try:
            r = http.post(
                f"{witness.url}/add-checkpoint",
                content=body.encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as e:
            raise ServerError(f"{witness.label} at {witness.url}: {e}") from e
        if r.status_code == 409 and r.headers.get("content-type", "").startswith(SIZE_TYPE):
            seen = int(r.text.strip())
            if seen == old:
                raise WitnessRefused(
                    f"{witness.label} refused: it cosigned another root for size {size} — "
                    "the log presented two histories (a split view)"
                )
            old = seen
            continue
        if r.status_code != 200:
            raise WitnessRefused(f"{witness.label} answered {r.status_code}: {r.text.strip()}")
        return _checked(witness, note, r.text, size)
    raise WitnessRefused(f"{witness.label} kept changing its size; try later")


def _checked(witness: WitnessConfig, note: str, answer: str, size: int) -> Cosigned:
    """The witness's line, verified over the checkpoint body under its configured key."""
    body, _ = split_note(note)
    try:
        _, lines = split_note(note + answer if answer.endswith("\n") else note + answer + "\n")
    except CustodyError as e:
        raise WitnessRefused(f"{witness.label} answered no note signature: {e.message}") from e
    for s in lines:
        if (s.name, s.key_id) != (witness.key.name, witness.key.key_id):
            continue
        try:
            timestamp = witness.key.verify(body, s.signature)
        except CustodyError:
            continue
        return Cosigned(line=s.line(), timestamp=timestamp, witness_size=size)
    raise WitnessRefused(f"{witness.label} returned no cosignature that verifies under its key")
