"""SM3 as custody.digests computes it: hashlib's where OpenSSL has SM3, else cryptography's.

The known answers run through the hasher itself (MultiHasher, hash_stream) twice: as it
runs here, and with hashlib's SM3 made unavailable, so that the cryptography fallback a
court's machine may use is checked on every machine. Only the comparison of the two
backends skips, when hashlib has no ``sm3``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from hypothesis import given, settings
from hypothesis import strategies as st

import custody.digests
from custody.digests import CryptographySM3, MultiHasher, hash_stream
from custody.errors import UnknownAlgorithm


def _openssl_has_sm3() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


# captured at import, before any test replaces hashlib.new
_REAL_HASHLIB_NEW = hashlib.new
_OPENSSL_HAS_SM3 = _openssl_has_sm3()

needs_openssl_sm3 = pytest.mark.skipif(
    not _OPENSSL_HAS_SM3,
    reason="hashlib (this OpenSSL build) offers no sm3, so there is no second SM3 to compare "
    "cryptography's with; the known-answer tests still run",
)

# GB/T 32905-2016 Appendix A (示例), reproduced in draft-sca-cfrg-sm3 and in OpenSSL's
# test/recipes/30-test_evp_data/evpmd_sm3.txt (from draft-shen-sm3-hash-01):
# example 1: "abc" (24 bits); example 2: "abcd" x 16 (512 bits, so padding adds a block).
GBT_EXAMPLE_1 = (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
GBT_EXAMPLE_2 = (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
# No standard example for the empty message; golden table of ontio/ontology-crypto
# sm3/sm3_test.go (the same value appears in other SM3 test suites).
EMPTY = (b"", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b")

# Multi-block inputs from OpenSSL test/recipes/30-test_evp_data/evpmd_sm3.txt, section
# "From GmSSL test suite": the Z_A values of the GB/T 32918 (SM2) worked examples
# (p.57 and p.59 of the standard, per GmSSL's tests/sm3test.c), and a TOPSEC CA certificate.
OPENSSL_GMSSL_VECTORS = [
    (
        "0090414C494345313233405941484F4F2E434F4D787968B4FA32C3FD2417842E73BBFEFF2F3C848B68"
        "31D7E0EC65228B3937E49863E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5"
        "249A421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D0680512BCBB42C"
        "07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A20AE4C7798AA0F119471BEE11825BE462"
        "02BB79E2A5844495E97C04FF4DF2548A7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9"
        "FE0C6BB798E857",
        "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A",
    ),
    (
        "0090414C494345313233405941484F4F2E434F4D000000000000000000000000000000000000000000"
        "00000000000000000000000000E78BCD09746C202378A7E72B12BCE00266B9627ECB0B5A25367AD1AD"
        "4CC6242B00CDB9CA7F1E6B0441F658343F4B10297C0EF9B6491082400A62E7A7485735FADD013DE74D"
        "A65951C4D76DC89220D5F7777A611B1C38BAE260B175951DC8060C2B3E0165961645281A8626607B91"
        "7F657D7E9382F1EA5CD931F40F6627F357542653B201686522130D590FB8DE635D8FCA715CC6BF3D05"
        "BEF3F75DA5D543454448166612",
        "26352AF82EC19F207BBC6F9474E11E90CE0F7DDACE03B27F801817E897A81FD5",
    ),
    (
        "4D38D2958CA7FD2CFAE3AF04486959CF92C8EF48E8B83A05C112E739D5F181D03082020CA003020102"
        "020900AF28725D98D33143300C06082A811CCF550183750500307D310B300906035504060C02636E31"
        "0B300906035504080C02626A310B300906035504070C02626A310F300D060355040A0C06746F707365"
        "63310F300D060355040B0C06746F707365633111300F06035504030C08546F707365634341311F301D"
        "06092A864886F70D0109010C10626A40746F707365632E636F6D2E636E301E170D3132303632343037"
        "353433395A170D3332303632303037353433395A307D310B300906035504060C02636E310B30090603"
        "5504080C02626A310B300906035504070C02626A310F300D060355040A0C06746F70736563310F300D"
        "060355040B0C06746F707365633111300F06035504030C08546F707365634341311F301D06092A8648"
        "86F70D0109010C10626A40746F707365632E636F6D2E636E3059301306072A8648CE3D020106082A81"
        "1CCF5501822D03420004D69C2F1EEC3BFB6B95B30C28085C77B125D77A9C39525D8190768F37D6B205"
        "B589DCD316BBE7D89A9DC21917F17799E698531F5E6E3E10BD31370B259C3F81C3A3733071300F0603"
        "551D130101FF040530030101FF301D0603551D0E041604148E5D90347858BAAAD870D8BDFBA6A85E7B"
        "563B64301F0603551D230418301680148E5D90347858BAAAD870D8BDFBA6A85E7B563B64300B060355"
        "1D0F040403020106301106096086480186F8420101040403020057",
        "C3B02E500A8B60B77DEDCF6F4C11BEF8D56E5CDE708C72065654FD7B2167915A",
    ),
]

KATS: list[tuple[bytes, str]] = [
    GBT_EXAMPLE_1,
    GBT_EXAMPLE_2,
    EMPTY,
    *((bytes.fromhex(m), d.lower()) for m, d in OPENSSL_GMSSL_VECTORS),
]
KAT_IDS = ["gbt-example-1", "gbt-example-2", "empty", "za-p57", "za-p59", "topsec-cert"]


@contextmanager
def hashlib_without_sm3() -> Iterator[None]:
    """Make hashlib.new('sm3') fail as it does on an OpenSSL built without SM3.

    The one fake in these tests: OpenSSL's SM3 cannot be uninstalled from a running process.
    Every other algorithm still goes to the real hashlib.
    """
    real_new: Callable[..., Any] = custody.digests.hashlib.new

    def new(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.lower() == "sm3":
            raise ValueError(f"unsupported hash type {name}")
        return real_new(name, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(custody.digests.hashlib, "new", new)
        yield


@pytest.fixture(params=["as-installed", "hashlib-without-sm3"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test twice: with the SM3 this machine gives, and with the cryptography fallback."""
    if request.param == "as-installed":
        yield request.param
        return
    with hashlib_without_sm3():
        yield request.param


def sm3_of(pieces: list[bytes | bytearray | memoryview]) -> str:
    with MultiHasher("sm3") as hasher:
        for piece in pieces:
            hasher.update(piece)
        return hasher.hexdigests()["sm3"]


# ---------------------------------------------------------------------------------------
# Known answers through the hasher, on both backends (never skipped).
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "expected"), KATS, ids=KAT_IDS)
def test_sm3_known_answers(backend: str, message: bytes, expected: str) -> None:
    assert sm3_of([message]) == expected
    assert hash_stream(io.BytesIO(message), "sm3").digests["sm3"] == expected


@pytest.mark.parametrize(("message", "expected"), KATS, ids=KAT_IDS)
@pytest.mark.parametrize("piece", [1, 3, 63, 64, 65])
def test_sm3_known_answers_in_pieces(
    backend: str, message: bytes, piece: int, expected: str
) -> None:
    view = memoryview(message)
    assert sm3_of([view[i : i + piece] for i in range(0, len(message), piece)]) == expected


def test_sm3_accepts_bytes_like(backend: str) -> None:
    assert sm3_of([bytearray(b"abcd" * 8), memoryview(b"abcd" * 8)]) == GBT_EXAMPLE_2[1]


def test_sm3_digest_does_not_finalize(backend: str) -> None:
    with MultiHasher("sm3") as hasher:
        hasher.update(b"ab")
        first = hasher.hexdigests()["sm3"]
        assert hasher.hexdigests()["sm3"] == first  # asking twice gives the same answer
        hasher.update(b"c")
        assert hasher.hexdigests()["sm3"] == GBT_EXAMPLE_1[1]  # and hashing continues


def test_sm3_through_the_parallel_path(backend: str) -> None:
    # large enough to take MultiHasher's threaded branch, SM3 running in a worker thread
    data = random.Random(7).randbytes(custody.digests.PARALLEL_THRESHOLD + 1000)
    with_md5 = hash_stream(io.BytesIO(data), "sm3,md5").digests
    assert with_md5["sm3"] == cryptography_sm3(data)
    assert with_md5["md5"] == hashlib.md5(data).hexdigest()  # untouched by the simulation
    assert with_md5["sha256"] == hashlib.sha256(data).hexdigest()


def cryptography_sm3(data: bytes) -> str:
    h = CryptographySM3()
    h.update(data)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# Which SM3 the hasher takes.
# ---------------------------------------------------------------------------------------


def test_hasher_takes_hashlib_sm3_where_openssl_has_it() -> None:
    h = custody.digests._new("sm3")
    assert isinstance(h, CryptographySM3) is (not _OPENSSL_HAS_SM3)
    h.update(b"abc")
    assert h.hexdigest() == GBT_EXAMPLE_1[1]


def test_hasher_falls_back_to_cryptography_sm3() -> None:
    with hashlib_without_sm3():
        with pytest.raises(ValueError):
            hashlib.new("sm3")  # the simulation is in effect
        h = custody.digests._new("sm3")
    assert isinstance(h, CryptographySM3)
    assert (h.name, h.digest_size, h.block_size) == ("sm3", 32, 64)
    h.update(b"abc")
    assert h.hexdigest() == GBT_EXAMPLE_1[1]
    assert len(h.digest()) == h.digest_size


def test_no_sm3_anywhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cryptography built without SM3 too: asking for SM3 is refused, not mis-hashed."""

    def unsupported(*args: Any, **kwargs: Any) -> Any:
        raise UnsupportedAlgorithm("sm3 is not supported by this backend")

    monkeypatch.setattr(custody.digests.hashes, "Hash", unsupported)
    with hashlib_without_sm3():
        with pytest.raises(UnknownAlgorithm, match="SM3 is not available"):
            MultiHasher("sm3")
        with MultiHasher("md5") as hasher:  # the other algorithms are unaffected
            hasher.update(b"abc")
            assert hasher.hexdigests()["md5"] == hashlib.md5(b"abc").hexdigest()


# ---------------------------------------------------------------------------------------
# The two backends agree (skipped only when hashlib has no SM3).
# ---------------------------------------------------------------------------------------


@needs_openssl_sm3
@pytest.mark.parametrize(("message", "expected"), KATS, ids=KAT_IDS)
def test_openssl_sm3_gives_the_same_known_answers(message: bytes, expected: str) -> None:
    assert _REAL_HASHLIB_NEW("sm3", message).hexdigest() == expected


@needs_openssl_sm3
def test_backends_agree_across_padding_boundaries() -> None:
    # every length up to three blocks: covers 55/56 (length field fits or not) and 63/64/65
    rng = random.Random(32905)
    for length in range(0, 3 * 64 + 2):
        data = rng.randbytes(length)
        assert cryptography_sm3(data) == _REAL_HASHLIB_NEW("sm3", data).hexdigest(), length


@needs_openssl_sm3
@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=6))
def test_fallback_agrees_with_openssl_for_any_chunking(data: bytes, cuts: list[int]) -> None:
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    with hashlib_without_sm3():
        got = sm3_of([data[a:b] for a, b in itertools.pairwise(bounds)])
    assert got == _REAL_HASHLIB_NEW("sm3", data).hexdigest()
