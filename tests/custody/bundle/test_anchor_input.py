"""The bundle writer checks the anchors it is given before it writes (verify, then persist)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from custody.bundle import verify_bundle, write_bundle
from custody.checkpoint import split_note
from custody.cosignature import WitnessSigningKey, add_signatures
from custody.errors import BundleError
from custody.ledger import parse_rfc3339
from custody.timestamp import load_trust, request_for
from tests.custody.test_bundle import Scenario, build_scenario
from tests.tsa import make_tsa, openssl_reply


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("anchored"))


@pytest.fixture(scope="module")
def witness() -> WitnessSigningKey:
    return WitnessSigningKey.generate("court.example/witness")


def cosigned(scenario: Scenario, witness: WitnessSigningKey, when: int | None = None) -> str:
    body, _ = split_note(scenario.data.checkpoint_note)
    return add_signatures(
        scenario.data.checkpoint_note, [witness.cosign(body, when or int(time.time()))]
    )


def test_a_cosigned_timestamped_bundle_is_written_and_verifies(
    scenario: Scenario, witness: WitnessSigningKey, tmp_path: Path
) -> None:
    tsa = make_tsa(tmp_path / "tsa")
    export = json.loads(max(scenario.data.entries, key=lambda e: e.seq).canonical)
    note = cosigned(scenario, witness, int(parse_rfc3339(export["time"]).timestamp()) + 60)
    body, _ = split_note(note)
    data = replace(
        scenario.data,
        checkpoint_note=note,
        witness_keys=[witness.verifier().to_text()],
        timestamps=[openssl_reply(tsa, request_for(body))],
    )
    out = write_bundle(data, tmp_path / "b", with_content=False)
    report = verify_bundle(
        out,
        trusted_key=scenario.key.verifier(),
        witness_keys=[witness.verifier()],
        min_witnesses=1,
        tsa_trust=[load_trust(tsa.chain.read_bytes(), "chain")],
    )
    assert report.ok, [c.message for c in report.failures]
    by_item = {c.item: c for c in report.checks}
    assert "vouched" in by_item[f"cosignature {witness.verifier().label}"].message
    assert by_item["RFC 3161 timestamps"].ok

    late = replace(data, checkpoint_note=cosigned(scenario, witness, int(time.time()) + 9 * 86400))
    stale = verify_bundle(
        write_bundle(late, tmp_path / "late", with_content=False),
        trusted_key=scenario.key.verifier(),
        witness_keys=[witness.verifier()],
        min_witnesses=1,
    )
    assert not stale.ok and any("stale" in c.message for c in stale.failures)


def test_writer_refuses_a_forged_cosignature(
    scenario: Scenario, witness: WitnessSigningKey, tmp_path: Path
) -> None:
    other = WitnessSigningKey.generate(witness.name)  # same name, another key: a forgery
    body, _ = split_note(scenario.data.checkpoint_note)
    line = other.cosign(body, 1)
    forged = replace(line, key_id=witness.verifier().key_id)
    data = replace(
        scenario.data,
        checkpoint_note=add_signatures(scenario.data.checkpoint_note, [forged]),
        witness_keys=[witness.verifier().to_text()],
    )
    with pytest.raises(BundleError, match="does not verify"):
        write_bundle(data, tmp_path / "b", with_content=False)
    assert not (tmp_path / "b").exists()


def test_writer_refuses_a_signature_by_an_unknown_key(
    scenario: Scenario, witness: WitnessSigningKey, tmp_path: Path
) -> None:
    data = replace(scenario.data, checkpoint_note=cosigned(scenario, witness))
    with pytest.raises(BundleError, match="unknown keys"):
        write_bundle(data, tmp_path / "b", with_content=False)


def test_writer_refuses_a_token_for_another_checkpoint(scenario: Scenario, tmp_path: Path) -> None:
    tsa = make_tsa(tmp_path / "tsa")
    data = replace(scenario.data, timestamps=[openssl_reply(tsa, request_for("other\n1\nAA==\n"))])
    with pytest.raises(BundleError, match="not over this checkpoint"):
        write_bundle(data, tmp_path / "b", with_content=False)
