"""custody.b64: the one strict base64 decoder, and the signature parsers that use it."""

from __future__ import annotations

import base64

import pytest

from custody import b64
from custody.checkpoint import Checkpoint, SigningKey, open_checkpoint, sign_checkpoint
from custody.errors import CheckpointError, ProofError
from custody.merkle import EMPTY_ROOT
from custody.report import sign_report, verify_report_signature

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ORIGIN = "custody.example/ledger"


def respelled(text: str) -> str:
    """The same bytes with non-zero unused trailing bits: decodes alike, is not canonical."""
    body = text.rstrip("=")
    unused = {1: 2, 2: 4}[len(text) - len(body)]  # bits of the last character not used
    last = ALPHABET.index(body[-1])
    assert last & ((1 << unused) - 1) == 0
    return body[:-1] + ALPHABET[last | 1] + text[len(body) :]


def test_respelled_text_decodes_to_the_same_bytes_leniently() -> None:
    text = base64.b64encode(bytes(range(68))).decode()
    assert respelled(text) != text
    assert base64.b64decode(respelled(text), validate=True) == bytes(range(68))


def test_decode_accepts_the_canonical_spelling() -> None:
    for raw in (b"", b"a", b"ab", b"abc", bytes(range(68))):
        assert b64.decode(b64.encode(raw), "x") == raw


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(base64.b64encode(b"ab").decode().rstrip("="), id="missing-padding"),
        pytest.param(base64.b64encode(b"abc").decode() + "=", id="extra-padding"),
        pytest.param("YWJj\n", id="newline"),
        pytest.param("YW Jj", id="space"),
        pytest.param(" YWJj", id="leading-space"),
        pytest.param(base64.urlsafe_b64encode(b"\xfb\xff").decode(), id="url-safe-alphabet"),
        pytest.param("YWJj\u00e9", id="non-ascii"),
    ],
)
def test_decode_refuses_invalid_text(text: str) -> None:
    with pytest.raises(CheckpointError, match=r"^the thing is not (valid|canonical) base64$"):
        b64.decode(text, "the thing")


@pytest.mark.parametrize("raw", [b"a", b"ab", bytes(range(68))], ids=["1", "2", "68"])
def test_decode_refuses_non_zero_trailing_bits(raw: bytes) -> None:
    with pytest.raises(CheckpointError, match="not canonical base64"):
        b64.decode(respelled(b64.encode(raw)), "signature")


def test_decode_raises_the_callers_error_and_never_echoes_the_text() -> None:
    secret = "PRIVATEKEYMATERIAL"[:-1] + "x="
    with pytest.raises(ProofError) as info:
        b64.decode(secret, "signing key", ProofError)
    assert secret not in info.value.message
    with pytest.raises(ProofError, match="must be a base64 string, got int"):
        b64.decode(42, "proof hash", ProofError)


def test_every_signature_parser_refuses_a_respelled_signature() -> None:
    """The report verifier and the checkpoint parser refuse the same re-spelling."""
    key = SigningKey.generate(ORIGIN)
    report = b'{"report": 1}'
    name, sig64 = sign_report(report, key).split()
    with pytest.raises(CheckpointError, match="report signature line 1 is not canonical base64"):
        verify_report_signature(report, f"{name} {respelled(sig64)}\n", [key.verifier()])
    assert verify_report_signature(report, f"{name} {sig64}\n", [key.verifier()])

    note = sign_checkpoint(Checkpoint(origin=ORIGIN, size=0, root=EMPTY_ROOT), key)
    body, _, line = note.rstrip("\n").rpartition("\n")
    head, _, note_sig64 = line.rpartition(" ")
    forged = f"{body}\n{head} {respelled(note_sig64)}\n"
    with pytest.raises(CheckpointError, match="not canonical base64"):
        open_checkpoint(forged, [key.verifier()])
    assert open_checkpoint(note, [key.verifier()]).size == 0
