"""Key rotation entries: each step signed by the key before; a gap or a forgery breaks it."""

from __future__ import annotations

import pytest

from custody.checkpoint import SigningKey
from custody.errors import CheckpointError
from custody.ledger import Action
from custody.rotation import follow, key_for_size, parse_rotation, rotation_details

ORIGIN = "log.example"


def entry(seq: int, old: SigningKey, new: SigningKey) -> dict[str, object]:
    return {
        "seq": seq,
        "action": str(Action.KEY_ROTATED),
        "details": rotation_details(ORIGIN, old, new.verifier()),
    }


def test_the_chain_is_followed_from_the_first_key() -> None:
    k0, k1, k2 = (SigningKey.generate(ORIGIN) for _ in range(3))
    chain = follow(
        k0.verifier(),
        [parse_rotation(9, entry(9, k1, k2)), parse_rotation(4, entry(4, k0, k1))],
    )
    assert [r.seq for r in chain] == [4, 9]
    assert key_for_size(k0.verifier(), chain, 5) == k0.verifier()  # the old key's last tree
    assert key_for_size(k0.verifier(), chain, 6) == k1.verifier()
    assert key_for_size(k0.verifier(), chain, 11) == k2.verifier()


def test_a_forged_rotation_is_refused() -> None:
    k0, attacker, k1 = (SigningKey.generate(ORIGIN) for _ in range(3))
    value = entry(3, attacker, k1)
    value["details"]["old_key"] = k0.verifier().to_text()  # type: ignore[index]
    with pytest.raises(CheckpointError, match="forged rotation"):
        parse_rotation(3, value)


def test_a_missing_step_breaks_the_chain() -> None:
    k0, k1, k2 = (SigningKey.generate(ORIGIN) for _ in range(3))
    with pytest.raises(CheckpointError, match="missing or forged"):
        follow(k0.verifier(), [parse_rotation(9, entry(9, k1, k2))])
