"""The ledger in a real database (SQLite and PostgreSQL): appends, nodes, proofs, checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, text
from sqlmodel import Session, col

from custody import ledger_store, merkle
from custody.checkpoint import Checkpoint as SignedCheckpoint
from custody.checkpoint import SigningKey, open_checkpoint
from custody.errors import CheckpointError, InputError, LedgerIntegrityError, NumberUnavailable
from custody.ledger import GENESIS_PREV, Action, EntryDraft
from custody.log_audit import audit_log
from custody.models import Checkpoint, LedgerEntry, LedgerHead, LedgerNode

ORIGIN = "test.custody.example/ledger"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
BIG = 5000


def draft(i: int, actor: str = "li.wei") -> EntryDraft:
    """Entry 0 creates the case; every later one views an item of it."""
    return EntryDraft(
        actor=actor,
        department="forensics",
        action=Action.CASE_CREATED if i == 0 else Action.VIEW,
        case="2026-XS-0117",
        evidence=f"ev-{i % 7}",
        details={"i": i},
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    from custody.db import make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def append_many(engine: Engine, n: int, *, per_commit: bool = False) -> None:
    with Session(engine) as session:
        for i in range(n):
            ledger_store.append(session, draft(i), time=T0 + timedelta(seconds=i))
            if per_commit:
                session.commit()
        session.commit()


def stored_hashes(engine: Engine) -> list[bytes]:
    with Session(engine) as session:
        rows = session.execute(select(LedgerEntry).order_by(col(LedgerEntry.seq))).scalars().all()
        return [bytes.fromhex(r.entry_hash) for r in rows]


def stored_nodes(engine: Engine) -> dict[tuple[int, int], bytes]:
    with Session(engine) as session:
        return {
            (n.level, n.idx): bytes(n.hash) for n in session.execute(select(LedgerNode)).scalars()
        }


def expected_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every complete aligned subtree of a MemoryTree over the same leaves."""
    tree = merkle.MemoryTree(leaves)
    out: dict[tuple[int, int], bytes] = {}
    level = 0
    while (1 << level) <= len(leaves):
        for idx in range(len(leaves) >> level):
            out[(level, idx)] = tree.source(level, idx)
        level += 1
    return out


class QueryCounter:
    """Counts the statements an engine sends (a ``before_cursor_execute`` listener)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def selects(self) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("SELECT"))

    def reset(self) -> None:
        self.statements.clear()


# --- appends -----------------------------------------------------------------------------------


def test_appends_give_consecutive_seqs_with_prev_links(engine: Engine) -> None:
    sealed = []
    with Session(engine) as session:
        for i in range(12):
            sealed.append(ledger_store.append(session, draft(i)))
            session.commit()
    assert [s.seq for s in sealed] == list(range(12))
    with Session(engine) as session:
        rows = ledger_store.entries(session, 0, 100)
        head = session.get(LedgerHead, 1)
        assert head is not None
        assert (head.size, head.last_hash) == (12, sealed[-1].hash_hex)
        assert ledger_store.size(session) == 12
        root = ledger_store.root(session, 12)
    assert [r.seq for r in rows] == list(range(12))
    prev = GENESIS_PREV
    for row, s in zip(rows, sealed, strict=True):
        value = s.value()
        assert bytes(row.canonical) == s.canonical
        assert row.entry_hash == s.hash_hex == merkle.leaf_hash(row.canonical).hex()
        assert value["prev"] == prev
        assert (row.actor, row.action, row.case_number, row.evidence_id) == (
            value["actor"],
            value["action"],
            value["case"],
            value["evidence"],
        )
        prev = row.entry_hash
    audited = audit_log(
        [(r.seq, bytes(r.canonical)) for r in rows],
        SignedCheckpoint(origin=ORIGIN, size=12, root=root),
    )
    assert list(audited.leaves) == [s.hash for s in sealed]


def test_rolled_back_append_leaves_no_trace(engine: Engine) -> None:
    append_many(engine, 3)
    with Session(engine) as session:
        ledger_store.append(session, draft(99))
        session.rollback()
    with Session(engine) as session:
        assert ledger_store.size(session) == 3
        nxt = ledger_store.append(session, draft(3))
        session.commit()
    assert nxt.seq == 3
    assert len(stored_hashes(engine)) == 4


def test_entry_queries(engine: Engine) -> None:
    append_many(engine, 20)
    with Session(engine) as session:
        assert [e.seq for e in ledger_store.entries(session, 5, 9)] == [5, 6, 7, 8]
        assert ledger_store.entries(session, 30, 40) == []
        assert [e.seq for e in ledger_store.entries_of_evidence(session, "ev-3")] == [3, 10, 17]
        assert len(ledger_store.entries_of_case(session, "2026-XS-0117")) == 20
        entry = ledger_store.entry_at(session, 7)
        assert entry is not None and entry.seq == 7
        assert ledger_store.entry_at(session, 20) is None
        with pytest.raises(InputError):
            ledger_store.entries(session, 5, 4)
        with pytest.raises(InputError):
            ledger_store.entries(session, -1, 4)


def test_stored_nodes_equal_the_memory_tree(engine: Engine) -> None:
    n = 37
    append_many(engine, n, per_commit=True)
    leaves = stored_hashes(engine)
    assert len(leaves) == n
    assert stored_nodes(engine) == expected_nodes(leaves)


# --- roots and proofs from stored nodes --------------------------------------------------------


def test_roots_and_proofs_equal_the_memory_tree(engine: Engine) -> None:
    n = 37
    append_many(engine, n)
    tree = merkle.MemoryTree(stored_hashes(engine))
    leaves = stored_hashes(engine)
    with Session(engine) as session:
        assert ledger_store.root(session, 0) == merkle.EMPTY_ROOT
        for size in range(1, n + 1):
            root = ledger_store.root(session, size)
            assert root == tree.root(size), size
            for index in sorted(i for i in {0, 1, size // 2, size - 2, size - 1} if 0 <= i < size):
                proof = ledger_store.inclusion_proof(session, index, size)
                assert proof == tree.inclusion_proof(index, size), (index, size)
                merkle.verify_inclusion(
                    leaf_hash=leaves[index], index=index, size=size, proof=proof, root=root
                )
            for first in sorted(
                f for f in {1, 2, size // 3, size // 2, size - 1, size} if 0 < f <= size
            ):
                proof = ledger_store.consistency_proof(session, first, size)
                assert proof == tree.consistency_proof(first, size), (first, size)
                merkle.verify_consistency(
                    first=first,
                    second=size,
                    proof=proof,
                    first_root=tree.root(first),
                    second_root=root,
                )


def test_proof_arguments_outside_the_ledger_are_input_errors(engine: Engine) -> None:
    append_many(engine, 5)
    with Session(engine) as session:
        for call in (
            lambda: ledger_store.root(session, 6),
            lambda: ledger_store.root(session, -1),
            lambda: ledger_store.inclusion_proof(session, 5, 5),
            lambda: ledger_store.inclusion_proof(session, -1, 5),
            lambda: ledger_store.inclusion_proof(session, 0, 6),
            lambda: ledger_store.consistency_proof(session, 0, 5),
            lambda: ledger_store.consistency_proof(session, 4, 3),
            lambda: ledger_store.consistency_proof(session, 2, 6),
        ):
            with pytest.raises(InputError):
                call()


def test_a_missing_node_is_an_integrity_error_not_a_wrong_root(database_url: str) -> None:
    """Copy a ledger without one node (as a bad restore would): proofs must refuse."""
    from custody.db import make_engine, migrate

    engine = make_engine(database_url)
    try:
        migrate(engine)
        leaves, nodes = scratch_ledger()[:2]
        small = {k: v for k, v in nodes.items() if (k[1] + 1) << k[0] <= 6}
        del small[(1, 2)]  # leaves 4 and 5
        with engine.begin() as conn:
            conn.execute(
                insert(LedgerNode),
                [{"level": lv, "idx": i, "hash": h} for (lv, i), h in small.items()],
            )
            conn.execute(
                text("UPDATE ledger_head SET size = 6, last_hash = :h"), {"h": leaves[5].hex()}
            )
        with Session(engine) as session:
            with pytest.raises(LedgerIntegrityError) as info:
                ledger_store.root(session, 6)
            assert info.value.seq == 4
            assert ledger_store.root(session, 4) == merkle.MemoryTree(leaves[:4]).root()
            with pytest.raises(LedgerIntegrityError):
                ledger_store.inclusion_proof(session, 0, 6)
    finally:
        engine.dispose()


# --- O(log n) reads at a large size ------------------------------------------------------------

_SCRATCH: dict[str, Any] = {}


def scratch_ledger() -> tuple[list[bytes], dict[tuple[int, int], bytes], list[dict[str, Any]]]:
    """BIG entries made by the real ``append``, in one transaction on an in-memory SQLite.

    Rows (entries, nodes, head) are then bulk-copied into each database under test: the
    fast path, but every row is exactly what ``append`` wrote.
    """
    if not _SCRATCH:
        from custody.db import make_engine, migrate

        scratch = make_engine("sqlite://")
        try:
            migrate(scratch)
            with Session(scratch) as session:
                for i in range(BIG):
                    ledger_store.append(session, draft(i), time=T0 + timedelta(seconds=i))
                session.commit()
            with Session(scratch) as session:
                entries = [
                    {c: getattr(e, c) for c in LedgerEntry.__table__.columns.keys()}  # type: ignore[attr-defined]
                    for e in session.execute(
                        select(LedgerEntry).order_by(col(LedgerEntry.seq))
                    ).scalars()
                ]
        finally:
            scratch.dispose()
        leaves = [bytes.fromhex(e["entry_hash"]) for e in entries]
        _SCRATCH.update(leaves=leaves, nodes=expected_nodes(leaves), entries=entries)
    return _SCRATCH["leaves"], _SCRATCH["nodes"], _SCRATCH["entries"]


@pytest.fixture
def big_engine(engine: Engine) -> Engine:
    leaves, nodes, entries = scratch_ledger()
    with engine.begin() as conn:
        conn.execute(insert(LedgerEntry), entries)
        conn.execute(
            insert(LedgerNode),
            [{"level": lv, "idx": i, "hash": h} for (lv, i), h in nodes.items()],
        )
        conn.execute(
            text("UPDATE ledger_head SET size = :n, last_hash = :h WHERE id = 1"),
            {"n": BIG, "h": leaves[-1].hex()},
        )
    return engine


def test_scratch_rows_are_what_append_writes(engine: Engine) -> None:
    """The bulk copy is only a shortcut if the scratch rows equal real appends here."""
    append_many(engine, 40)
    leaves, nodes, entries = scratch_ledger()
    assert stored_hashes(engine) == leaves[:40]
    with Session(engine) as session:
        here = session.execute(select(LedgerEntry).order_by(col(LedgerEntry.seq))).scalars().all()
        assert [bytes(e.canonical) for e in here] == [e["canonical"] for e in entries[:40]]
    assert stored_nodes(engine) == {k: v for k, v in nodes.items() if (k[1] + 1) << k[0] <= 40}


def test_proofs_at_a_large_size_read_log_n_rows(big_engine: Engine) -> None:
    leaves, _, _ = scratch_ledger()
    tree = merkle.MemoryTree(leaves)
    log_n = BIG.bit_length()  # 13
    with QueryCounter(big_engine) as counter:
        with Session(big_engine) as session:
            root = ledger_store.root(session, BIG)
        assert root == tree.root()
        # one SELECT for the size, then one per stored node: popcount(n) for the root
        assert counter.selects <= bin(BIG).count("1") + 1, counter.statements
        for index, first in [(0, 1), (1234, 1000), (4999, 4095), (4096, 2500), (2047, 4999)]:
            counter.reset()
            with Session(big_engine) as session:
                inclusion = ledger_store.inclusion_proof(session, index, BIG)
            # O(log n): nothing near the 5000 leaves or ~10000 nodes
            assert counter.selects <= 3 * log_n + 1 < 64, (index, counter.statements)
            assert len(counter.statements) < 64
            counter.reset()
            with Session(big_engine) as session:
                consistency = ledger_store.consistency_proof(session, first, BIG)
            assert counter.selects <= 3 * log_n + 1 < 64, (first, counter.statements)
            assert len(counter.statements) < 64
            assert inclusion == tree.inclusion_proof(index, BIG)
            assert consistency == tree.consistency_proof(first, BIG)
            merkle.verify_inclusion(
                leaf_hash=leaves[index], index=index, size=BIG, proof=inclusion, root=root
            )
            merkle.verify_consistency(
                first=first,
                second=BIG,
                proof=consistency,
                first_root=tree.root(first),
                second_root=root,
            )


# --- signed checkpoints ------------------------------------------------------------------------


def test_sign_current_persists_one_checkpoint_per_size(engine: Engine) -> None:
    key = SigningKey.generate(ORIGIN)
    verifier = key.verifier()
    with Session(engine) as session:
        empty = ledger_store.sign_current(session, key, ORIGIN)
        session.commit()
        cp = open_checkpoint(empty.note, [verifier])
        assert (cp.size, cp.root, cp.origin) == (0, merkle.EMPTY_ROOT, ORIGIN)
    append_many(engine, 3)
    with Session(engine) as session:
        first = ledger_store.sign_current(session, key, ORIGIN)
        session.commit()
        first_note, first_created = first.note, first.created_at
    with Session(engine) as session:
        again = ledger_store.sign_current(session, key, ORIGIN)
        session.commit()
        assert (again.size, again.note, again.created_at) == (3, first_note, first_created)
        cp = open_checkpoint(again.note, [verifier])
        assert cp.size == 3
        assert cp.root == ledger_store.root(session, 3) == bytes.fromhex(again.root)
    with Session(engine) as session:
        ledger_store.append(session, draft(3))
        session.commit()
    with Session(engine) as session:
        later = ledger_store.sign_current(session, key, ORIGIN)
        session.commit()
        assert later.size == 4
        cp4 = open_checkpoint(later.note, [verifier])
        assert cp4.root == ledger_store.root(session, 4)
        merkle.verify_consistency(
            first=3,
            second=4,
            proof=ledger_store.consistency_proof(session, 3, 4),
            first_root=cp.root,
            second_root=cp4.root,
        )
    with Session(engine) as session:
        rows = session.execute(select(Checkpoint).order_by(col(Checkpoint.size))).scalars().all()
        assert [r.size for r in rows] == [0, 3, 4]
        assert open_checkpoint(rows[-1].note, [verifier]) == cp4  # the newest is kept as signed
        kept = ledger_store.checkpoint_at(session, 3)
        assert kept is not None and kept.note == first_note
        assert ledger_store.checkpoint_at(session, 2) is None
    other = SigningKey.generate(ORIGIN)
    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        open_checkpoint(first_note, [other.verifier()])


def test_sign_current_when_another_writer_signed_first(engine: Engine, database_url: str) -> None:
    """The IntegrityError path: a concurrent request persisted the same size meanwhile."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite: the checkpoint insert holds the write lock; no signer interleaves")
    append_many(engine, 5)
    key = SigningKey.generate(ORIGIN)
    winner_note: list[str] = []

    def sign_elsewhere(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            statement.lstrip().upper().startswith("INSERT INTO LEDGER_CHECKPOINTS")
            and not winner_note
        ):
            from custody.db import make_engine

            other = make_engine(database_url)
            try:
                with Session(other) as s2:
                    note = ledger_store.sign_current(s2, key, ORIGIN).note
                    s2.commit()
                    winner_note.append(note)
            finally:
                other.dispose()

    event.listen(engine, "before_cursor_execute", sign_elsewhere)
    try:
        with Session(engine) as session:
            row = ledger_store.sign_current(session, key, ORIGIN)
            note, size = row.note, row.size
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", sign_elsewhere)
    assert winner_note, "the competing signer never ran"
    assert note == winner_note[0] and size == 5
    with Session(engine) as session:
        assert len(session.execute(select(Checkpoint)).scalars().all()) == 1


# --- the per-case chain --------------------------------------------------------------------------


def test_each_case_entry_links_to_the_case_previous_entry(engine: Engine) -> None:
    """case_prev is the hash of the same case's previous entry, across interleaved cases."""
    other = "2026-JJ-0042"
    plan = [
        (Action.CASE_CREATED, "2026-XS-0117"),
        (Action.CASE_CREATED, other),
        (Action.VIEW, "2026-XS-0117"),
        (Action.ACCOUNT_CREATED, None),
        (Action.VIEW, other),
        (Action.VIEW, "2026-XS-0117"),
    ]
    with Session(engine) as session:
        sealed = [
            ledger_store.append(
                session, EntryDraft(actor="li.wei", department="forensics", action=a, case=c)
            )
            for a, c in plan
        ]
        session.commit()
    links = [s.value()["case_prev"] for s in sealed]
    assert links == [None, None, sealed[0].hash_hex, None, sealed[1].hash_hex, sealed[2].hash_hex]
    with Session(engine) as session:
        assert ledger_store.case_head(session, "2026-XS-0117") == sealed[5].hash_hex
        assert ledger_store.case_head(session, other) == sealed[4].hash_hex
        assert ledger_store.case_head(session, "never-created") is None


def test_an_entry_of_a_case_never_created_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(InputError, match=r"no case\.created entry"):
            ledger_store.append(
                session,
                EntryDraft(actor="x", department="d", action=Action.VIEW, case="never-created"),
            )
        session.rollback()
        assert ledger_store.size(session) == 0


def test_a_case_cannot_be_created_twice(engine: Engine) -> None:
    append_many(engine, 2)
    with Session(engine) as session, pytest.raises(NumberUnavailable, match="not available"):
        ledger_store.append(session, draft(0))
