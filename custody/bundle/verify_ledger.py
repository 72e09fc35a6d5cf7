"""Verification steps for the ledger extract: signature, entries, proofs, completeness.

Each entry must be the leaf its inclusion proof says in the tree the trusted key signed,
and must follow entry seq-1 of that tree. Completeness: the case chain, walked by
``case_prev`` from the EXPORT entry (the signed tree's last leaf) back to ``case.created``,
must reach every bundled entry with no link missing, and the export entry must account for
every item the chain shows was taken in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from custody.bundle.context import VerifyContext
from custody.bundle.files import is_regular
from custody.bundle.names import ENTRY_NAME, HEX64, entry_file
from custody.canonical import canonical_json
from custody.case_chain import CaseEntry, walk_case_chain
from custody.checkpoint import (
    Checkpoint,
    VerifierKey,
    open_checkpoint,
    parse_checkpoint,
    split_note,
)
from custody.errors import BundleError, CustodyError
from custody.ledger import ENTRY_FIELDS, GENESIS_PREV, Action
from custody.merkle import leaf_hash, parse_consistency_proof, parse_inclusion_proof
from custody.rotation import key_for_size
from custody.secrecy.record import CaseSecrecy

CHAIN_ITEM = "case chain"


def check_checkpoint(v: VerifyContext) -> None:
    item = "data/ledger/checkpoint.txt"
    raw = v.read(item)
    if raw is None:
        v.fail(item, f"file deleted from the bag: {item}")
    else:
        try:
            text = raw.decode("utf-8")
            size = parse_checkpoint(split_note(text)[0]).size
            v.signer = key_for_size(v.trusted, v.rotations, size)
            v.checkpoint = open_checkpoint(text, [v.signer])
        except CustodyError as e:
            v.fail(item, f"{item}: not accepted: {e.message}")
        else:
            cp = v.checkpoint
            trusted = f"{v.trusted.name}+{v.trusted.key_id.hex()}"
            if v.signer == v.trusted:
                v.ok(item, f"{item}: signed by the trusted key {trusted} (tree size {cp.size})")
            else:
                steps = " -> ".join(
                    f"{r.new.name}+{r.new.key_id.hex()} (entry {r.seq})"
                    for r in v.rotations
                    if cp.size > r.seq + 1
                )
                v.ok(
                    item,
                    f"{item}: signed by {v.signer.name}+{v.signer.key_id.hex()}, the key the "
                    f"trusted key {trusted} rotated to: {trusted} -> {steps} (tree size "
                    f"{cp.size})",
                )
    key_item = "data/ledger/verifier-key.txt"
    raw_key = v.read(key_item)
    if raw_key is None:
        v.fail(key_item, f"file deleted from the bag: {key_item}")
        return
    named = raw_key.decode("utf-8").strip()
    try:
        same = VerifierKey.from_text(named) == v.signer
    except CustodyError:
        same = False
    if same:
        which = "the trusted key" if v.signer == v.trusted else "the key the trusted key rotated to"
        v.ok(key_item, f"{key_item}: names {which}")
    else:
        v.fail(
            key_item,
            f"{key_item}: names {named!r}, not the trusted key {v.trusted_text} — the bundle "
            "claims another signer; only the trusted key counts",
        )


def check_entries(v: VerifyContext) -> None:
    folder = v.path("data/ledger/entries")
    if not folder.is_dir():
        v.fail("data/ledger/entries/", "the bundle has no ledger entries")
        return
    for path in sorted(folder.iterdir()):
        rel = f"data/ledger/entries/{path.name}"
        m = ENTRY_NAME.fullmatch(path.name)
        if m is None or not is_regular(path):
            v.fail(rel, f"{rel}: unexpected file among the ledger entries")
            continue
        with v.guard(rel):
            _check_entry(v, rel, int(m.group(1)), path.read_bytes())
    if v.case is not None:
        for seq in v.case.get("entries") or []:
            if isinstance(seq, int) and seq not in v.entries:
                rel = f"data/ledger/entries/{entry_file(seq)}"
                v.fail(rel, f"file deleted from the bag: {rel} (listed in data/case.json)")


def _check_entry(v: VerifyContext, rel: str, seq: int, canonical: bytes) -> None:
    problems: list[str] = []
    try:
        value = json.loads(canonical)
    except (ValueError, UnicodeDecodeError):
        v.fail(rel, f"{rel}: not JSON — the entry was edited")
        return
    if not isinstance(value, dict) or any(f not in value for f in ENTRY_FIELDS):
        v.fail(rel, f"{rel}: not a ledger entry (fields missing) — the entry was edited")
        return
    if canonical_json(value) != canonical:
        problems.append(f"{rel}: not in RFC 8785 canonical form — the entry was edited")
    if value.get("seq") != seq:
        problems.append(
            f"{rel}: carries seq {value.get('seq')} but is filed as entry {seq} — "
            "entries were swapped, renamed or reordered"
        )
    v.entries[seq] = (canonical, value)
    entry_hash = leaf_hash(canonical)
    proof_rel = f"data/ledger/proofs/{entry_file(seq)}"
    raw = v.read(proof_rel)
    cp = v.checkpoint
    if raw is None:
        problems.append(f"{rel}: its proof file {proof_rel} is missing")
    elif cp is None:
        problems.append(f"{rel}: not proven: there is no checkpoint signed by the trusted key")
    else:
        proofs = json.loads(raw)
        if not isinstance(proofs, dict):
            raise BundleError(f"{proof_rel} is not a JSON object")
        inclusion = parse_inclusion_proof(proofs.get("inclusion"))
        try:
            if inclusion.leaf_index != seq:
                raise BundleError(f"the proof is for leaf {inclusion.leaf_index}, not {seq}")
            if inclusion.tree_size != cp.size:
                raise BundleError(
                    f"the proof is for tree size {inclusion.tree_size}, not the checkpoint's "
                    f"{cp.size}"
                )
            inclusion.verify(leaf_hash=entry_hash, root=cp.root)
        except CustodyError as e:
            problems.append(
                f"{rel}: hash does not match its inclusion proof against the signed "
                f"checkpoint — the entry was edited, or its proof replaced ({e.message})"
            )
        problems.extend(_prev_problems(rel, seq, value, proofs.get("prev"), cp))
    if problems:
        for p in problems:
            v.fail(rel, p)
    else:
        v.ok(
            rel,
            f"{rel}: canonical; hash {entry_hash.hex()} is leaf {seq} of the signed tree of "
            f"size {cp.size if cp else '?'}; prev link proven",
        )


def _prev_problems(
    rel: str, seq: int, value: Mapping[str, Any], raw_prev: object, cp: Checkpoint
) -> list[str]:
    prev = value.get("prev")
    forged = f"{rel}: prev link is not proven — a forged prev link"
    if seq == 0:
        if prev != GENESIS_PREV:
            return [f"{forged}: entry 0 must have prev {GENESIS_PREV}"]
        return []
    if not isinstance(prev, str) or not HEX64.fullmatch(prev):
        return [f"{forged}: prev {prev!r} is not a 64-digit hex hash"]
    if raw_prev is None:
        return [f"{forged}: the proof file has no proof of entry {seq - 1}"]
    try:
        proof = parse_inclusion_proof(raw_prev)
        if proof.leaf_index != seq - 1 or proof.tree_size != cp.size:
            raise BundleError(
                f"its prev proof is for leaf {proof.leaf_index} at size {proof.tree_size}, "
                f"not leaf {seq - 1} at size {cp.size}"
            )
        proof.verify(leaf_hash=bytes.fromhex(prev), root=cp.root)
    except CustodyError as e:
        return [
            f"{forged}: its prev {prev} is not the hash of entry {seq - 1} in the signed "
            f"ledger ({e.message})"
        ]
    # (a bundled entry seq-1 that hashes otherwise fails its own inclusion proof)
    return []


def check_case_chain(v: VerifyContext) -> None:
    """Completeness: one unbroken case chain from the export entry back to case.created."""
    cp, number = v.checkpoint, v.case_number
    if cp is None:
        v.fail(CHAIN_ITEM, f"{CHAIN_ITEM}: not checked: no checkpoint signed by the trusted key")
        return
    if number is None:
        v.fail(CHAIN_ITEM, f"{CHAIN_ITEM}: not checked: data/case.json names no case")
        return
    entries = [
        CaseEntry(seq=seq, hash=leaf_hash(canonical).hex(), value=value)
        for seq, (canonical, value) in v.entries.items()
    ]
    head = cp.size - 1
    problems: list[str] = []
    start = head
    if head not in v.entries:
        problems.append(
            f"the export entry is missing: entry {head}, the last leaf of the signed checkpoint "
            "and so the head of the case chain, is not in the bundle — it was removed"
        )
        start = max(v.entries, default=head)
    elif v.entries[head][1].get("action") != Action.EXPORT:
        problems.append(
            f"entry {head}, the last leaf of the signed checkpoint, is "
            f"{v.entries[head][1].get('action')}, not the case's export entry — the export "
            "entry was removed or the checkpoint replaced"
        )
    walk = walk_case_chain(number, entries, start)
    problems.extend(walk.problems)
    named = (v.case or {}).get("export", {}).get("entry")
    if named is not None and named != head:
        problems.append(
            f"data/case.json names export entry {named}, but the signed tree ends at entry "
            f"{head} — the export entry was replaced by another export"
        )
    if problems:
        for p in problems:
            v.fail(CHAIN_ITEM, f"{CHAIN_ITEM}: {p}")
        return
    v.ok(
        CHAIN_ITEM,
        f"{CHAIN_ITEM}: all {len(walk.reached)} entries of case {number} are linked by case_prev "
        f"from the export entry {head} back to case.created (entry {walk.reached[-1]}); no "
        "entry is missing and none belongs elsewhere",
    )


def check_export(v: VerifyContext) -> None:
    """The export entry names every item of the case, and the bundle holds exactly those."""
    export = v.export_entry()
    if export is None:
        return  # reported by the case chain
    seq, value = export
    item = f"data/ledger/entries/{entry_file(seq)}"
    details = value.get("details") or {}
    listed = {str(x) for x in details.get("evidence") or []}
    disposed = {str(x) for x in details.get("disposed") or []}
    present = set(v.evidence_ids())
    intakes = v.intake_entries()
    problems = []
    for evidence_id in sorted(listed - present):
        problems.append(
            f"{item}: the export entry lists evidence {evidence_id}, which is missing from the "
            "bundle — an item was removed"
        )
    for evidence_id in sorted(present - listed):
        problems.append(
            f"{item}: evidence {evidence_id} is in the bundle but not in the export entry — an "
            "item was added"
        )
    for evidence_id in sorted((listed | disposed) - set(intakes)):
        problems.append(
            f"{item}: the export entry names evidence {evidence_id}, but its INTAKE entry is not "
            "in the bundle — the item's intake record was removed"
        )
    for evidence_id, (intake_seq, _) in sorted(intakes.items()):
        if evidence_id not in listed | disposed:
            problems.append(
                f"{item}: evidence {evidence_id} was taken in (INTAKE entry {intake_seq}) but "
                "the export entry neither exports it nor lists it as disposed"
            )
    if problems:
        for p in problems:
            v.fail(item, p)
    else:
        v.ok(
            item,
            f"{item}: the bundle holds exactly the {len(listed)} exported item(s); "
            f"{len(disposed)} disposed item(s) keep their history",
        )


def check_consistency(v: VerifyContext) -> None:
    item = "data/ledger/consistency.json"
    raw = v.read(item)
    if raw is None:
        return
    proof = parse_consistency_proof(json.loads(raw))
    cp = v.checkpoint
    if cp is not None and proof.second != cp.size:
        v.fail(item, f"{item}: proves growth to size {proof.second}, not {cp.size}")
        return
    v.ok(
        item,
        f"{item}: a consistency proof from tree size {proof.first} to {proof.second}; check it "
        "against your earlier checkpoint with `custody-verify ledger consistency OLD "
        "data/ledger/checkpoint.txt --proof data/ledger/consistency.json`",
    )


COPIES_ITEM = "numbered copies"


def check_copies(v: VerifyContext) -> None:
    """A classified case's copies (第 N 份) are numbered once each, and case.json says which.

    A copy number recorded twice means two holders carry the same "copy No. N": the
    register could no longer tell which one was destroyed.
    """
    values = [value for _, (_, value) in sorted(v.entries.items())]
    if not values or values[0].get("action") != Action.CASE_CREATED:
        return  # reported by the case chain
    state = CaseSecrecy.fold(values)
    if not state.classified and not state.copies:
        return
    problems = [
        f"copy number {number} is recorded again by entry {seq}: a copy number was reused"
        for number, seq in state.reused_copy_numbers
    ]
    export = v.export_entry()
    if export is not None:
        recorded = (export[1].get("details") or {}).get("copy_no")
        named = (v.case or {}).get("export", {}).get("copy_no")
        if named != recorded:
            problems.append(
                f"data/case.json names copy {named}, but the export entry records copy "
                f"{recorded} — the copy number was changed"
            )
    if problems:
        for p in problems:
            v.fail(COPIES_ITEM, f"{COPIES_ITEM}: {p}")
        return
    v.ok(
        COPIES_ITEM,
        f"{COPIES_ITEM}: {len(state.copies)} numbered copies of case {state.number}, each "
        "number recorded once",
    )
