"""Checking what a bundle is given for anchoring before it is written (verify, then persist).

Every cosignature line on the checkpoint must verify under a witness key the log named,
every token must be over SHA-256 of the checkpoint's body, and the rotations must chain,
each signed by the key before it, to the key that signed the checkpoint and be proven in
its tree. Anything else is refused: a bundle never carries an anchor nobody could check.
"""

from __future__ import annotations

from custody.bundle.model import BundleInput
from custody.checkpoint import Checkpoint, VerifierKey, split_note
from custody.cosignature import WitnessKey, check_cosignatures
from custody.errors import BundleError, CustodyError
from custody.merkle import leaf_hash
from custody.rotation import follow, key_for_size, parse_entry
from custody.timestamp import body_digest, token_digest


def check_anchoring(data: BundleInput, checkpoint: Checkpoint, verifier: VerifierKey) -> None:
    try:
        witnesses = [WitnessKey.from_text(k) for k in data.witness_keys]
        body, lines = split_note(data.checkpoint_note)
        _, results = check_cosignatures(data.checkpoint_note, witnesses)
    except CustodyError as e:
        raise BundleError(f"the checkpoint's cosignatures cannot be read: {e.message}") from e
    for result in results:
        if result.status == "invalid":
            raise BundleError(f"the cosignature by {result.witness.label} does not verify")
    known = {(w.name, w.key_id) for w in witnesses} | {(verifier.name, verifier.key_id)}
    strangers = [f"{s.name}+{s.key_id.hex()}" for s in lines if (s.name, s.key_id) not in known]
    if strangers:
        raise BundleError(
            f"the checkpoint carries signatures by unknown keys ({', '.join(strangers)}): "
            "name their witness keys or leave them out"
        )
    digest = body_digest(body)
    for number, token in enumerate(data.timestamps, start=1):
        try:
            imprint = token_digest(token)
        except CustodyError as e:
            raise BundleError(f"timestamp {number}: {e.message}") from e
        if imprint != digest:
            raise BundleError(f"timestamp {number} is not over this checkpoint's body")
    if not data.rotations:
        return
    try:
        chain = [parse_entry(r.seq, r.canonical) for r in data.rotations]
        chain = follow(chain[0].old, chain)
        for r in data.rotations:
            if r.proof.leaf_index != r.seq or r.proof.tree_size != checkpoint.size:
                raise BundleError(f"the proof of rotation {r.seq} is not for the checkpoint")
            r.proof.verify(leaf_hash=leaf_hash(r.canonical), root=checkpoint.root)
    except CustodyError as e:
        raise BundleError(f"key rotations: {e.message}") from e
    if key_for_size(chain[0].old, chain, checkpoint.size) != verifier:
        raise BundleError("the key rotations do not lead to the key that signed the checkpoint")
