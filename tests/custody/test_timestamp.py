"""RFC 3161 tokens from a real TSA (``openssl ts -reply``), verified offline, and the three
ways a token can fail to prove a checkpoint — each with its own name."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.errors import TimestampError
from custody.timestamp import body_digest, load_trust, request_for, token_digest, verify_token
from tests.tsa import TsaFiles, make_tsa, openssl_reply

BODY = "test.custody.example/ledger\n12\nq0m1U9p5Dqf3K7ZfE1r4wbQ1a5hGgR0u3F4hH6jG0fI=\n"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> TsaFiles:
    return make_tsa(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def token(tsa: TsaFiles) -> bytes:
    return openssl_reply(tsa, request_for(BODY))


def test_a_token_from_openssl_verifies_offline(tsa: TsaFiles, token: bytes) -> None:
    verified = verify_token(token, load_trust(tsa.chain.read_bytes(), "chain"), body_digest(BODY))
    assert verified.tsa == "CN=Test TSA"
    assert token_digest(token) == body_digest(BODY)


def test_wrong_tsa_certificate_is_named_untrusted(
    tmp_path: Path, tsa: TsaFiles, token: bytes
) -> None:
    other = make_tsa(tmp_path / "other", "Other")
    with pytest.raises(TimestampError) as e:
        verify_token(token, load_trust(other.chain.read_bytes(), "other"), body_digest(BODY))
    assert e.value.failure == "untrusted"


def test_changed_checkpoint_is_named(tsa: TsaFiles, token: bytes) -> None:
    changed = BODY.replace("12", "13")
    with pytest.raises(TimestampError) as e:
        verify_token(
            token,
            load_trust(tsa.chain.read_bytes(), "c"),
            body_digest(changed),
            checkpoint_ok=False,
        )
    assert e.value.failure == "checkpoint-changed"


def test_token_for_another_hash_is_named(tsa: TsaFiles) -> None:
    other = openssl_reply(tsa, request_for("another checkpoint\n1\n" + "A" * 43 + "=\n"))
    with pytest.raises(TimestampError) as e:
        verify_token(other, load_trust(tsa.chain.read_bytes(), "c"), body_digest(BODY))
    assert e.value.failure == "other-hash"


def test_a_tsa_file_without_its_ca_is_an_input_error(tsa: TsaFiles) -> None:
    from custody.errors import InputError

    with pytest.raises(InputError, match="CA"):
        load_trust((tsa.dir / "tsa.pem").read_bytes(), "tsa.pem")
