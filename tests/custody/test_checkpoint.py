"""C2SP checkpoints and signed notes: formats, failures, and an independent verifier."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custody.checkpoint import (
    Checkpoint,
    SigningKey,
    VerifierKey,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
)
from custody.errors import CheckpointError, VerificationError

ORIGIN = "custody.example/ledger"
ROOT = hashlib.sha256(b"some root").digest()

# The example key and note of golang.org/x/mod/sumdb/note (its package documentation).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n"
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate(ORIGIN)


@pytest.fixture(scope="module")
def checkpoint() -> Checkpoint:
    return Checkpoint(origin=ORIGIN, size=20852163, root=ROOT)


def _tamper_b64_sig(note: str) -> str:
    body, _, sigline = note.rstrip("\n").rpartition("\n")
    prefix, _, sig64 = sigline.rpartition(" ")
    raw = bytearray(base64.b64decode(sig64))
    raw[-1] ^= 0x01  # in the Ed25519 signature, not the key id
    return f"{body}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


# --- an independent verifier, written from the C2SP signed-note and tlog-checkpoint text -----
# Deliberately imports nothing from custody.checkpoint: it must agree with our output on its own.


class IndependentRejection(Exception):
    pass


def independent_verify_note(note: str, vkey_text: str) -> bytes:
    """Return the note text if the key in ``vkey_text`` signed it."""
    # Verifier key: name "+" 8 hex key id "+" base64(0x01 || 32-byte Ed25519 public key).
    name, hex_id, key64 = vkey_text.split("+", 2)
    key = base64.b64decode(key64, validate=True)
    if len(key) != 33 or key[0] != 0x01:
        raise IndependentRejection("not an Ed25519 note key")
    public = key[1:]
    key_id = hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + public).digest()[:4]
    if key_id.hex() != hex_id.lower():
        raise IndependentRejection("key id mismatch")

    # Note: text ending in newline, blank line, signature lines "— name base64(id||sig)\n".
    raw = note.encode("utf-8")
    if any(b < 0x20 and b != 0x0A for b in raw):
        raise IndependentRejection("control character")
    split = raw.rindex(b"\n\n")
    text, sigs = raw[: split + 1], raw[split + 2 :]
    if not sigs.endswith(b"\n"):
        raise IndependentRejection("unterminated signatures")
    verified = False
    em_dash_space = b"\xe2\x80\x94 "  # U+2014 in UTF-8, then a space
    for line in sigs[:-1].split(b"\n"):
        if not line.startswith(em_dash_space):
            raise IndependentRejection("bad signature line")
        sig_name, sig64 = line[len(em_dash_space) :].split(b" ", 1)
        blob = base64.b64decode(sig64, validate=True)
        if sig_name.decode() != name or blob[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text)
        except InvalidSignature:
            raise IndependentRejection("bad signature") from None
        verified = True
    if not verified:
        raise IndependentRejection("not signed by the key")
    return text


def independent_open_checkpoint(note: str, vkey_text: str) -> tuple[str, int, bytes]:
    text = independent_verify_note(note, vkey_text).decode("utf-8")
    # Checkpoint body: origin, decimal size, base64 root hash, then optional extension lines.
    lines = text.split("\n")
    if len(lines) < 4 or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise IndependentRejection("bad checkpoint body")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if origin != vkey_text.split("+")[0] or len(root) != 32:
        raise IndependentRejection("bad checkpoint body")
    return origin, size, root


def test_independent_verifier_on_the_go_reference_note() -> None:
    # Check the independent verifier itself against the reference implementation's note.
    assert independent_verify_note(GO_NOTE, GO_VKEY) == GO_TEXT.encode()
    with pytest.raises(IndependentRejection, match="bad signature"):
        independent_verify_note(GO_NOTE.replace("answer", "Answer"), GO_VKEY)
    with pytest.raises(IndependentRejection, match="bad checkpoint body"):
        independent_open_checkpoint(GO_NOTE, GO_VKEY)


def test_independent_verifier_accepts_our_checkpoint(
    key: SigningKey, checkpoint: Checkpoint
) -> None:
    note = sign_checkpoint(checkpoint, key)
    vkey = key.verifier().to_text()
    assert independent_open_checkpoint(note, vkey) == (ORIGIN, checkpoint.size, ROOT)

    with pytest.raises(IndependentRejection, match="bad signature"):
        independent_open_checkpoint(note.replace("20852163", "20852164"), vkey)
    with pytest.raises(IndependentRejection, match="bad signature"):
        independent_open_checkpoint(_tamper_b64_sig(note), vkey)
    other = SigningKey.generate(ORIGIN).verifier().to_text()
    with pytest.raises(IndependentRejection, match="not signed"):
        independent_open_checkpoint(note, other)


# --- interop with the Go reference implementation ---------------------------------------------


def test_go_reference_keys_and_note() -> None:
    skey = SigningKey.from_text(GO_SKEY)
    vkey = VerifierKey.from_text(GO_VKEY)
    assert skey.name == vkey.name == "PeterNeumann"
    assert skey.key_id.hex() == vkey.key_id.hex() == "c74f20a3"
    assert skey.to_text() == GO_SKEY  # the base64 part contains '+'
    assert vkey.to_text() == GO_VKEY
    assert skey.verifier() == vkey
    # Ed25519 is deterministic: signing must reproduce the reference note byte for byte.
    assert sign_note(GO_TEXT, skey) == GO_NOTE
    body, signers = open_note(GO_NOTE, [vkey])
    assert body == GO_TEXT
    assert signers == [vkey]


@pytest.mark.parametrize("text", [GO_VKEY, GO_SKEY], ids=["verifier", "signer"])
def test_every_mangled_key_is_rejected(text: str) -> None:
    # As the Go tests do: every proper substring and every single-character change fails.
    parse = SigningKey.from_text if text.startswith("PRIVATE") else VerifierKey.from_text
    for i in range(len(text) + 1):
        for j in range(i + 1, len(text) + 1):
            if (i, j) == (0, len(text)):
                continue
            with pytest.raises(CheckpointError):
                parse(text[i:j])
    for i in range(len(text)):
        mangled = text[:i] + chr(ord(text[i]) + 1) + text[i + 1 :]
        with pytest.raises(CheckpointError):
            parse(mangled)


# --- keys ------------------------------------------------------------------------------------


def test_key_id_is_computed_as_the_spec_says(key: SigningKey) -> None:
    public = key.private.public_key().public_bytes_raw()
    expected = hashlib.sha256(ORIGIN.encode() + b"\n" + b"\x01" + public).digest()[:4]
    assert key.key_id == expected
    assert key.verifier().key_id == expected
    assert key.verifier().public == public


def test_key_text_formats(key: SigningKey) -> None:
    vtext = key.verifier().to_text()
    stext = key.to_text()
    b64 = r"[A-Za-z0-9+/]{44}"  # 33 bytes: no padding
    assert re.fullmatch(re.escape(ORIGIN) + r"\+[0-9a-f]{8}\+" + b64, vtext)
    assert re.fullmatch(r"PRIVATE\+KEY\+" + re.escape(ORIGIN) + r"\+[0-9a-f]{8}\+" + b64, stext)
    assert vtext.split("+")[1] == key.key_id.hex()
    assert base64.b64decode(vtext.split("+", 2)[2])[0] == 0x01
    seed = base64.b64decode(stext.split("+", 4)[4])
    assert seed[0] == 0x01 and len(seed) == 33
    assert seed[1:] == key.private.private_bytes_raw()

    again = SigningKey.from_text(stext + "\n")
    assert again.to_text() == stext
    assert again.verifier() == key.verifier() == VerifierKey.from_text(vtext + "\n")
    assert "PRIVATE" not in repr(key) and "private" not in repr(key)


def test_key_round_trip_with_plus_in_base64() -> None:
    for i in range(256):
        k = SigningKey(
            name="k.example/plus", private=Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)
        )
        vtext, stext = k.verifier().to_text(), k.to_text()
        if "+" in vtext.split("+", 2)[2] and "+" in stext.split("+", 4)[4]:
            break
    else:
        pytest.fail("no seed gave '+' in both base64 forms")
    assert VerifierKey.from_text(vtext) == k.verifier()
    assert SigningKey.from_text(stext).to_text() == stext


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name",
        "name+c74f20a3",
        "na me+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+xc74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # id mismatch
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",  # non-canonical
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        # Go's own "wrong length" and "unknown algorithm" cases (key ids adjusted to match).
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    ],
)
def test_malformed_verifier_keys(text: str) -> None:
    with pytest.raises(CheckpointError):
        VerifierKey.from_text(text)


@pytest.mark.parametrize(
    "text",
    [
        GO_VKEY,
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumannX+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKD",
    ],
)
def test_malformed_signing_keys(text: str) -> None:
    with pytest.raises(CheckpointError):
        SigningKey.from_text(text)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0x", "nl\n"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(CheckpointError):
        SigningKey.generate(name)


def test_verifier_key_fields_must_agree(key: SigningKey) -> None:
    v = key.verifier()
    with pytest.raises(CheckpointError, match="key id"):
        VerifierKey(name=v.name, key_id=b"\x00\x00\x00\x00", public=v.public)
    with pytest.raises(CheckpointError):
        VerifierKey(name=v.name, key_id=v.key_id, public=v.public[:31])
    assert VerifierKey.from_public(v.name, v.public) == v


def test_raw_sign_and_verify(key: SigningKey) -> None:
    sig = key.sign(b"message")
    assert len(sig) == 64
    key.verifier().verify(b"message", sig)
    with pytest.raises(CheckpointError, match="does not verify"):
        key.verifier().verify(b"messagE", sig)
    with pytest.raises(CheckpointError, match="does not verify"):
        key.verifier().verify(b"message", sig[:63])


# --- checkpoint bodies -------------------------------------------------------------------------


def test_checkpoint_body(checkpoint: Checkpoint) -> None:
    assert checkpoint.body() == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_checkpoint(checkpoint.body()) == checkpoint
    empty = Checkpoint(origin=ORIGIN, size=0, root=hashlib.sha256(b"").digest())
    assert parse_checkpoint(empty.body()) == empty


def test_checkpoint_extension_lines_are_ignored(checkpoint: Checkpoint) -> None:
    assert parse_checkpoint(checkpoint.body() + "ext one\next two\n") == checkpoint


R64 = base64.b64encode(ROOT).decode()
URLSAFE64 = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\n",
        f"{ORIGIN}\n5\n{R64}",  # no final newline
        f"{ORIGIN}\n5\n",
        f"\n5\n{R64}\n",  # empty origin
        f"{ORIGIN}\n05\n{R64}\n",
        f"{ORIGIN}\n00\n{R64}\n",
        f"{ORIGIN}\n+5\n{R64}\n",
        f"{ORIGIN}\n-5\n{R64}\n",
        f"{ORIGIN}\n 5\n{R64}\n",
        f"{ORIGIN}\n5 \n{R64}\n",
        f"{ORIGIN}\n1_000\n{R64}\n",
        f"{ORIGIN}\n\u0663\n{R64}\n",  # Arabic-Indic digit three
        f"{ORIGIN}\n0x10\n{R64}\n",
        f"{ORIGIN}\n{2**64}\n{R64}\n",
        f"{ORIGIN}\n5\n{R64[:-1]}\n",
        f"{ORIGIN}\n5\n{R64.rstrip('=')}\n",
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n5\n{URLSAFE64}\n",
        f"{ORIGIN}\n5\n{R64}\n\n",  # empty extension line
        f"{ORIGIN}\n5\n{R64}\next\n\nmore\n",
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_checkpoint_values_are_validated() -> None:
    for bad in [
        {"origin": "", "size": 1, "root": ROOT},
        {"origin": "a\nb", "size": 1, "root": ROOT},
        {"origin": ORIGIN, "size": -1, "root": ROOT},
        {"origin": ORIGIN, "size": True, "root": ROOT},
        {"origin": ORIGIN, "size": 1, "root": ROOT[:31]},
    ]:
        with pytest.raises(CheckpointError):
            Checkpoint(**bad)  # type: ignore[arg-type]
    assert Checkpoint(origin=ORIGIN, size=2**64 - 1, root=ROOT).size == 2**64 - 1


# --- signed checkpoints ---------------------------------------------------------------------


def test_round_trip(key: SigningKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key)
    body, sigline = note.split("\n\n")
    assert body + "\n" == checkpoint.body()
    assert sigline.startswith(f"\u2014 {ORIGIN} ")
    blob = base64.b64decode(sigline.split(" ")[2])
    assert blob[:4] == key.key_id and len(blob) == 68
    assert open_checkpoint(note, [key.verifier()]) == checkpoint
    # A verifier read back from its text form works the same.
    assert open_checkpoint(note, [VerifierKey.from_text(key.verifier().to_text())]) == checkpoint


def test_tampered_body_is_rejected(key: SigningKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key)
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(note.replace("20852163", "20852164"), [key.verifier()])
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(note.replace(R64, other_root), [key.verifier()])


def test_tampered_signature_is_rejected(key: SigningKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key)
    with pytest.raises(CheckpointError, match=f"signature by {re.escape(ORIGIN)}"):
        open_checkpoint(_tamper_b64_sig(note), [key.verifier()])


def test_wrong_key_is_rejected(key: SigningKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key)
    same_name = SigningKey.generate(ORIGIN).verifier()  # a different key id: unknown
    named = (
        f"no signature by a trusted key: signed by key {ORIGIN}+{key.key_id.hex()}, not by the "
        f"trusted key {ORIGIN}+{same_name.key_id.hex()}"
    )
    with pytest.raises(CheckpointError, match=re.escape(named)):
        open_checkpoint(note, [same_name])
    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        open_checkpoint(note, [])


def test_unknown_signatures_are_ignored_but_not_enough(
    key: SigningKey, checkpoint: Checkpoint
) -> None:
    witness = SigningKey.generate("witness.example/w1")
    stranger = SigningKey.generate("stranger.example")
    body = checkpoint.body()
    log_sig = sign_note(body, key).split("\n\n")[1]
    witness_sig = sign_note(body, witness).split("\n\n")[1]
    stranger_sig = sign_note(body, stranger).split("\n\n")[1]
    note = f"{body}\n{stranger_sig}{log_sig}{witness_sig}{log_sig}"

    opened, signers = open_note(note, [key.verifier(), witness.verifier()])
    assert opened == body
    assert signers == [key.verifier(), witness.verifier()]  # repeated signature counted once
    assert open_checkpoint(note, [key.verifier()]) == checkpoint

    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        open_note(f"{body}\n{stranger_sig}", [key.verifier(), witness.verifier()])
    # A trusted witness alone is not the log: the origin must be signed by its own key.
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(f"{body}\n{stranger_sig}{witness_sig}", [witness.verifier()])


def test_bad_signature_by_a_known_key_rejects_the_whole_note(
    key: SigningKey, checkpoint: Checkpoint
) -> None:
    witness = SigningKey.generate("witness.example/w1")
    body = checkpoint.body()
    good = sign_note(body, key)
    bad_witness = _tamper_b64_sig(sign_note(body, witness)).split("\n\n")[1]
    with pytest.raises(CheckpointError, match=r"witness\.example/w1\+[0-9a-f]{8} does not verify"):
        open_note(good + bad_witness, [key.verifier(), witness.verifier()])
    # ...but the same line from a key we do not know is ignored.
    assert open_note(good + bad_witness, [key.verifier()])[1] == [key.verifier()]


def test_origin_must_match_signer_name(key: SigningKey) -> None:
    foreign = Checkpoint(origin="elsewhere.example/log", size=1, root=ROOT)
    with pytest.raises(CheckpointError, match="cannot sign"):
        sign_checkpoint(foreign, key)
    note = sign_note(foreign.body(), key)
    with pytest.raises(CheckpointError, match=re.escape("origin 'elsewhere.example/log'")):
        open_checkpoint(note, [key.verifier()])


def test_signed_note_with_valid_signature_but_bad_checkpoint_body(key: SigningKey) -> None:
    note = sign_note(f"{ORIGIN}\n007\n{R64}\n", key)
    with pytest.raises(CheckpointError, match="leading zeros"):
        open_checkpoint(note, [key.verifier()])


def test_sign_note_requires_clean_text(key: SigningKey) -> None:
    for body in ["no newline", "tab\there\n", "nul\x00\n", "cr\r\n", "surrogate \udc80\n"]:
        with pytest.raises(CheckpointError, match="malformed note"):
            sign_note(body, key)
    # Note text may contain blank lines: the last blank line separates the signatures.
    text = "first\n\nsecond\n"
    assert open_note(sign_note(text, key), [key.verifier()])[0] == text


def test_malformed_notes(key: SigningKey, checkpoint: Checkpoint) -> None:
    body = checkpoint.body()
    note = sign_checkpoint(checkpoint, key)
    sigline = note.split("\n\n")[1]
    sig64 = sigline.rstrip("\n").split(" ")[2]
    v = [key.verifier()]
    malformed = [
        body,  # no signatures at all
        body + "\n",  # blank line but no signature lines
        note.rstrip("\n"),  # unterminated signature line
        body + "\n" + sigline.replace("\u2014", "-"),  # hyphen, not em dash
        body + "\n" + sigline.replace("\u2014 ", "\u2014"),
        body + "\n" + f"\u2014 {ORIGIN}{sig64}\n",  # no space before the signature
        body + "\n" + f"\u2014 {ORIGIN} \n",  # empty signature
        body + "\n" + f"\u2014  {sig64}\n",  # empty name
        body + "\n" + f"\u2014 a+b {sig64}\n",  # '+' in the name
        body + "\n" + f"\u2014 {ORIGIN} {sig64[:-1]}\n",  # bad base64
        body + "\n" + f"\u2014 {ORIGIN} {base64.b64encode(b'1234').decode()}\n",  # too short
        body + "\n" + sigline + "trailing garbage\n",
        body.replace("\n", "\r\n", 1) + "\n" + sigline,  # control character
        "\x00" + note,
        body + "\n" + sigline * 101,  # signature flood
    ]
    for text in malformed:
        with pytest.raises(CheckpointError):
            open_note(text, v)


def test_many_signatures_up_to_the_limit_are_fine(key: SigningKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key)
    sigline = note.split("\n\n")[1]
    assert open_checkpoint(checkpoint.body() + "\n" + sigline * 100, [key.verifier()]) == checkpoint


def test_checkpoint_error_is_a_verification_error() -> None:
    assert issubclass(CheckpointError, VerificationError)
