"""The witness's add-checkpoint decisions, status codes and durable state (C2SP tlog-witness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody import b64
from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
from custody.cosignature import check_cosignatures
from custody.merkle import MemoryTree, leaf_hash
from custody.witness.protocol import Witness
from custody.witness.state import WitnessState, init_witness

LOG = "log.example/ledger"


class Log:
    """A log in memory that signs checkpoints with a real key."""

    def __init__(self, key: SigningKey | None = None, prefix: bytes = b"") -> None:
        self.key = key or SigningKey.generate(LOG)
        self.tree = MemoryTree()
        self.prefix = prefix

    def grow(self, n: int) -> None:
        for _ in range(n):
            self.tree.append(leaf_hash(self.prefix + str(self.tree.size).encode()))

    def note(self, size: int | None = None) -> str:
        size = self.tree.size if size is None else size
        return sign_checkpoint(
            Checkpoint(origin=LOG, size=size, root=self.tree.root(size)), self.key
        )

    def request(self, old: int, size: int | None = None) -> bytes:
        size = self.tree.size if size is None else size
        proof = self.tree.consistency_proof(old, size) if 0 < old < size else []
        lines = "".join(b64.encode(h) + "\n" for h in proof)
        return f"old {old}\n{lines}\n{self.note(size)}".encode()


@pytest.fixture
def witness_dir(tmp_path: Path) -> Path:
    init_witness(tmp_path / "w", "court.example/witness")
    return tmp_path / "w"


def make_witness(directory: Path, log: Log) -> Witness:
    from custody.witness.state import load_key

    return Witness(load_key(directory), WitnessState(directory), [log.key.verifier()])


def test_cosigns_then_extends_with_a_consistency_proof(witness_dir: Path) -> None:
    log = Log()
    log.grow(5)
    witness = make_witness(witness_dir, log)
    first = witness.add_checkpoint(log.request(0))
    assert first.status == 200, first.body
    _, results = check_cosignatures(log.note() + first.body, [witness.key.verifier()])
    assert results[0].status == "ok"
    log.grow(6)
    assert witness.add_checkpoint(log.request(5)).status == 200


def test_rollback_is_refused_with_the_witness_size(witness_dir: Path) -> None:
    log = Log()
    log.grow(8)
    witness = make_witness(witness_dir, log)
    assert witness.add_checkpoint(log.request(0)).status == 200
    stale = witness.add_checkpoint(log.request(0, size=5))
    assert (stale.status, stale.content_type, stale.body) == (409, "text/x.tlog.size", "8\n")
    above = witness.add_checkpoint(log.request(8, size=5))  # old size above the checkpoint's
    assert above.status == 400


def test_split_view_same_size_other_root_is_refused_and_kept(witness_dir: Path) -> None:
    honest = Log()
    honest.grow(4)
    forked = Log(key=honest.key, prefix=b"other history ")
    forked.grow(4)
    witness = make_witness(witness_dir, honest)
    assert witness.add_checkpoint(honest.request(0)).status == 200
    refused = witness.add_checkpoint(forked.request(4))
    assert refused.status == 409
    kept = list((witness_dir / "refused").rglob("*.txt"))
    assert [p.read_text() for p in kept] == [forked.note()]


def test_an_unprovable_checkpoint_is_422(witness_dir: Path) -> None:
    log = Log()
    log.grow(3)
    witness = make_witness(witness_dir, log)
    assert witness.add_checkpoint(log.request(0)).status == 200
    forked = Log(key=log.key, prefix=b"rewritten ")
    forked.grow(9)
    assert witness.add_checkpoint(forked.request(3)).status == 422


def test_unknown_origin_404_and_unknown_key_403(witness_dir: Path) -> None:
    log = Log()
    log.grow(2)
    witness = make_witness(witness_dir, log)
    impostor = Log()  # same origin, another key
    impostor.grow(2)
    assert witness.add_checkpoint(impostor.request(0)).status == 403
    other = SigningKey.generate("elsewhere.example")
    note = sign_checkpoint(Checkpoint(origin="elsewhere.example", size=1, root=b"\0" * 32), other)
    assert witness.add_checkpoint(f"old 0\n\n{note}".encode()).status == 404
    assert witness.add_checkpoint(b"old 01\n\n" + log.note().encode()).status == 400


def test_state_survives_a_restart(witness_dir: Path) -> None:
    log = Log()
    log.grow(6)
    assert make_witness(witness_dir, log).add_checkpoint(log.request(0)).status == 200
    again = make_witness(witness_dir, log)  # a new process reading the same folder
    assert again.add_checkpoint(log.request(0, size=2)).body == "6\n"
    record = json.loads(next((witness_dir / "logs").iterdir()).read_text())
    assert record["size"] == 6 and record["origin"] == LOG
    assert oct((witness_dir / "witness.key").stat().st_mode & 0o777) == "0o600"
