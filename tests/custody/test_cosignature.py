"""cosignature/v1: our witness lines verify with tlog-scales (an independent implementation)."""

from __future__ import annotations

import os

import pytest
from tlog_scales.signing import Vkey
from tlog_scales.tlog import Checkpoint as ScalesCheckpoint

from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
from custody.cosignature import (
    WitnessKey,
    WitnessSigningKey,
    add_signatures,
    check_cosignatures,
    cosigned_message,
    cosigner_key_id,
)
from custody.errors import CheckpointError

LOG = "log.example/ledger"


def checkpoint_note(size: int = 7) -> tuple[Checkpoint, str, SigningKey]:
    key = SigningKey.generate(LOG)
    cp = Checkpoint(origin=LOG, size=size, root=os.urandom(32))
    return cp, sign_checkpoint(cp, key), key


def test_cosignature_verifies_with_tlog_scales() -> None:
    cp, note, log_key = checkpoint_note()
    witness = WitnessSigningKey.generate("court.example/witness")
    cosigned = add_signatures(note, [witness.cosign(cp.body(), 1_767_000_000)])
    parsed = ScalesCheckpoint.from_text(cosigned)
    vkey = Vkey.from_string(witness.verifier().to_text())
    assert vkey.sig_type == 4
    parsed.verify(vkey)  # raises unless tlog-scales accepts the cosignature
    parsed.verify(Vkey.from_string(log_key.verifier().to_text()))
    assert (
        vkey.get_verifier().get_timestamp(  # type: ignore[attr-defined]
            next(s for s in parsed.signatures if s.name == witness.name).payload
        )
        == 1_767_000_000
    )


def test_tlog_scales_rejects_a_cosignature_over_another_body() -> None:
    cp, note, _ = checkpoint_note()
    other = Checkpoint(origin=LOG, size=cp.size + 1, root=cp.root)
    witness = WitnessSigningKey.generate("court.example/witness")
    forged = add_signatures(note, [witness.cosign(other.body(), 1_767_000_000)])
    with pytest.raises(Exception):
        ScalesCheckpoint.from_text(forged).verify(Vkey.from_string(witness.verifier().to_text()))


def test_key_id_uses_algorithm_byte_four_and_keys_round_trip() -> None:
    witness = WitnessSigningKey.generate("w.example")
    vkey = witness.verifier()
    assert vkey.key_id == cosigner_key_id("w.example", witness.public)
    assert WitnessKey.from_text(vkey.to_text()) == vkey
    assert WitnessSigningKey.from_text(witness.to_text()).verifier() == vkey
    assert Vkey.from_string(vkey.to_text()).key_id == int.from_bytes(vkey.key_id, "big")
    assert cosigned_message("a\n1\nb\n", 5) == b"cosignature/v1\ntime 5\na\n1\nb\n"


def test_a_log_key_is_not_a_witness_key() -> None:
    with pytest.raises(CheckpointError, match="0x04"):
        WitnessKey.from_text(SigningKey.generate(LOG).verifier().to_text())


def test_check_cosignatures_says_ok_missing_or_invalid() -> None:
    cp, note, _ = checkpoint_note()
    good = WitnessSigningKey.generate("good.example")
    absent = WitnessSigningKey.generate("absent.example")
    liar = WitnessSigningKey.generate("liar.example")
    forged_line = liar.cosign(cp.body(), 100)
    forged_line = type(forged_line)(
        name=forged_line.name,
        key_id=forged_line.key_id,
        signature=forged_line.signature[:8] + os.urandom(64),
    )
    note = add_signatures(note, [good.cosign(cp.body(), 42), forged_line])
    _, results = check_cosignatures(note, [good.verifier(), absent.verifier(), liar.verifier()])
    assert [(r.status, r.timestamp) for r in results] == [
        ("ok", 42),
        ("missing", None),
        ("invalid", 100),
    ]
