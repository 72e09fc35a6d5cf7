"""Verification steps for anchoring: key rotations, witness cosignatures, RFC 3161 tokens.

Only what the court brings is trusted: its log key (rotations are followed from it, each
signed by the key before), its witness keys (``--witness-key``, at least
``--min-witnesses`` must vouch) and its TSA certificates (``--tsa-cert``). A cosignature is
*forged* when it does not verify over this checkpoint, *stale* when it is a replay of an
earlier checkpoint's (it does not verify, and its time precedes the export entry, which no
cosignature of this checkpoint can) or when its time is far from the checkpoint's (the
export entry's time).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from custody.bundle.context import VerifyContext
from custody.bundle.files import is_regular
from custody.bundle.names import ENTRY_NAME, TIMESTAMP_NAME
from custody.checkpoint import split_note
from custody.cosignature import check_cosignatures
from custody.errors import CustodyError, TimestampError
from custody.ledger import parse_rfc3339
from custody.merkle import leaf_hash, parse_inclusion_proof
from custody.rotation import Rotation, follow, parse_entry
from custody.timestamp import VerifiedTimestamp, body_digest, verify_token

ROTATIONS = "data/ledger/rotations/entries"
COSIGNATURES = "witness cosignatures"
CLOCK_SKEW_SECONDS = 300
"""A witness's clock may be this far behind the log's."""
MAX_COSIGNATURE_DELAY_SECONDS = 24 * 3600
"""A cosignature made later than this after the export vouches for a tree the witness saw
late: it proves nothing about the time of the bundle, and is reported stale."""


def _label(key: object) -> str:
    name, key_id = getattr(key, "name", "?"), getattr(key, "key_id", b"")
    return f"{name}+{key_id.hex()}"


def check_rotations(v: VerifyContext) -> None:
    """Follow the log's key rotations from the trusted key (before the checkpoint step)."""
    folder = v.path(ROTATIONS)
    if not folder.is_dir():
        return
    found: list[Rotation] = []
    for path in sorted(folder.iterdir()):
        rel = f"{ROTATIONS}/{path.name}"
        m = ENTRY_NAME.fullmatch(path.name)
        if m is None or not is_regular(path):
            v.fail(rel, f"{rel}: unexpected file among the key rotations")
            continue
        seq = int(m.group(1))
        try:
            found.append(parse_entry(seq, path.read_bytes()))
            v.rotation_entries[seq] = path.read_bytes()
        except CustodyError as e:
            v.fail(rel, f"{rel}: {e.message}")
    try:
        v.rotations = follow(v.trusted, found)
    except CustodyError as e:
        v.fail(ROTATIONS, f"{ROTATIONS}: {e.message}")
        return
    for r in v.rotations:
        rel = f"{ROTATIONS}/{r.seq:06d}.json"
        v.ok(
            rel,
            f"{rel}: at entry {r.seq} the key {_label(r.old)} rotated to {_label(r.new)}, "
            f"signed by {_label(r.old)}",
        )


def check_rotation_proofs(v: VerifyContext) -> None:
    """Each followed rotation is an entry of the signed tree (proof against the checkpoint)."""
    cp = v.checkpoint
    for r in v.rotations:
        rel = f"data/ledger/rotations/proofs/{r.seq:06d}.json"
        raw = v.read(rel)
        if cp is None or raw is None:
            v.fail(rel, f"{rel}: missing, or no trusted checkpoint to prove rotation {r.seq}")
            continue
        try:
            proof = parse_inclusion_proof(json.loads(raw))
            if proof.leaf_index != r.seq or proof.tree_size != cp.size:
                raise ValueError(f"the proof is for leaf {proof.leaf_index} at {proof.tree_size}")
            proof.verify(leaf_hash=leaf_hash(v.rotation_entries[r.seq]), root=cp.root)
        except (CustodyError, ValueError) as e:
            message = e.message if isinstance(e, CustodyError) else str(e)
            v.fail(rel, f"{rel}: rotation {r.seq} is not proven in the signed tree: {message}")
            continue
        v.ok(rel, f"{rel}: rotation entry {r.seq} is leaf {r.seq} of the signed tree")


def _checkpoint_time(v: VerifyContext) -> datetime | None:
    export = v.export_entry()
    if export is None:
        return None
    try:
        return parse_rfc3339(str(export[1].get("time")))
    except ValueError:
        return None


def check_cosignatures_step(v: VerifyContext) -> None:
    raw = v.read("data/ledger/checkpoint.txt")
    if raw is None:
        return
    note = raw.decode("utf-8")
    if not v.witnesses:
        _, lines = split_note(note)
        others = [
            s for s in lines if (s.name, s.key_id) not in {(k.name, k.key_id) for k in v.keys}
        ]
        if others:
            v.skip(
                COSIGNATURES,
                f"{COSIGNATURES}: {len(others)} cosignature(s) not checked — give the witnesses' "
                "keys with --witness-key (and --min-witnesses N)",
            )
        return
    _, results = check_cosignatures(note, v.witnesses)
    when = _checkpoint_time(v)
    vouched: list[str] = []
    missing: list[str] = []
    for result in results:
        item = f"cosignature {result.witness.label}"
        stamp = result.timestamp
        at = datetime.fromtimestamp(stamp, UTC).isoformat() if stamp is not None else "?"
        if result.status == "missing":
            missing.append(result.witness.label)
            v.skip(item, f"{item}: missing — the checkpoint carries no cosignature by this witness")
            continue
        if result.status == "invalid":
            if stamp is not None and when is not None and stamp < int(when.timestamp()):
                v.fail(
                    item,
                    f"{item}: stale — it does not verify over this checkpoint and is dated {at}, "
                    f"before the export entry ({when.isoformat()}): a cosignature of an earlier "
                    "checkpoint, replayed",
                )
            else:
                v.fail(
                    item,
                    f"{item}: forged — it does not verify over this checkpoint under the "
                    f"witness's key ({result.message})",
                )
            continue
        assert stamp is not None
        if when is not None:
            delta = stamp - when.timestamp()
            if delta < -CLOCK_SKEW_SECONDS or delta > MAX_COSIGNATURE_DELAY_SECONDS:
                v.fail(
                    item,
                    f"{item}: stale — cosigned at {at}, {delta / 3600:+.1f} h from the export "
                    f"entry ({when.isoformat()}); it says nothing about the tree at export time",
                )
                continue
        vouched.append(result.witness.label)
        v.ok(
            item,
            f"{item}: the witness vouched for this checkpoint (tree size "
            f"{v.checkpoint.size if v.checkpoint else '?'}) at {at}",
        )
    need = v.min_witnesses
    summary = f"{len(vouched)} of {len(v.witnesses)} trusted witnesses vouch ({need} required)"
    if len(vouched) >= need:
        v.ok(COSIGNATURES, f"{COSIGNATURES}: {summary}: {', '.join(vouched) or 'none needed'}")
    else:
        lack = f"; missing: {', '.join(missing)}" if missing else ""
        v.fail(COSIGNATURES, f"{COSIGNATURES}: too few — {summary}{lack}")


def check_timestamps(v: VerifyContext) -> None:
    folder = v.path("data/ledger/timestamps")
    tokens = sorted(folder.iterdir()) if folder.is_dir() else []
    item = "RFC 3161 timestamps"
    if not v.tsa_trust:
        if tokens:
            v.skip(item, f"{item}: {len(tokens)} token(s) not checked — give --tsa-cert FILE")
        return
    if not tokens:
        v.fail(item, f"{item}: the bundle carries no timestamp token, but --tsa-cert was given")
        return
    raw = v.read("data/ledger/checkpoint.txt")
    if raw is None:
        v.fail(item, f"{item}: no checkpoint to check the tokens against")
        return
    body, _ = split_note(raw.decode("utf-8"))
    digest = body_digest(body)
    good: list[VerifiedTimestamp] = []
    for path in tokens:
        rel = f"data/ledger/timestamps/{path.name}"
        if TIMESTAMP_NAME.fullmatch(path.name) is None or not is_regular(path):
            v.fail(rel, f"{rel}: unexpected file among the timestamps")
            continue
        errors: list[TimestampError] = []
        for trust in v.tsa_trust:
            try:
                verified = verify_token(
                    path.read_bytes(), trust, digest, checkpoint_ok=v.checkpoint is not None
                )
            except TimestampError as e:
                errors.append(e)
                continue
            good.append(verified)
            v.ok(
                rel,
                f"{rel}: the checkpoint's body (sha256 {digest.hex()}) was timestamped at "
                f"{verified.time.isoformat()} by {verified.tsa} (serial {verified.serial})",
            )
            break
        else:
            # the most telling failure: a hash mismatch under a trusted TSA beats "untrusted"
            errors.sort(key=lambda e: e.failure == "untrusted")
            v.fail(rel, f"{rel}: {errors[0].failure}: {errors[0].message}")
    if good:
        v.ok(
            item,
            f"{item}: {len(good)} token(s) by a trusted TSA prove the checkpoint existed "
            f"by {min(t.time for t in good).isoformat()}",
        )
