"""Verifying a court bundle offline against one trusted key, reporting every item.

It never stops at the first failure, so a court sees all that was changed or left out at
once. It uses only this package and its pure dependencies (BagIt is read here, not with the
``bagit`` library; the tests prove ``bagit.py --validate`` accepts our bags).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from custody.bundle import verify_anchor, verify_bag, verify_items, verify_ledger, verify_pdf
from custody.bundle.context import VerifyContext
from custody.bundle.model import BundleReport
from custody.checkpoint import VerifierKey
from custody.cosignature import WitnessKey
from custody.timestamp import TsaTrust

STEPS = (
    ("payload", verify_bag.walk_payload),
    ("bag", verify_bag.check_bag),
    ("sums", verify_bag.check_sums),
    ("case", verify_items.check_case),
    ("key rotations", verify_anchor.check_rotations),
    ("checkpoint", verify_ledger.check_checkpoint),
    ("entries", verify_ledger.check_entries),
    ("case chain", verify_ledger.check_case_chain),
    ("export", verify_ledger.check_export),
    ("numbered copies", verify_ledger.check_copies),
    ("rotation proofs", verify_anchor.check_rotation_proofs),
    ("witness cosignatures", verify_anchor.check_cosignatures_step),
    ("RFC 3161 timestamps", verify_anchor.check_timestamps),
    ("data list", verify_items.check_data_list),
    ("reports", verify_items.check_reports),
    ("pdf reports", verify_pdf.check_pdf_reports),
    ("content", verify_items.check_content),
    ("consistency", verify_ledger.check_consistency),
)


def verify_bundle(
    bundle_dir: Path,
    *,
    trusted_key: VerifierKey,
    content_dir: Path | None = None,
    witness_keys: Sequence[WitnessKey] = (),
    min_witnesses: int = 0,
    tsa_trust: Sequence[TsaTrust] = (),
) -> BundleReport:
    """Check every item of a bundle against ``trusted_key``; never stops at the first failure.

    Content is checked when it is in the bag, else in ``content_dir`` (found by size and
    SHA-256); with neither, a SKIPPED check says it was not checked. At least
    ``min_witnesses`` of ``witness_keys`` must have cosigned the checkpoint, and every token
    is checked against ``tsa_trust`` (the court's TSA certificates).
    """
    v = VerifyContext(
        Path(bundle_dir),
        trusted_key,
        content_dir,
        witnesses=witness_keys,
        min_witnesses=min_witnesses,
        tsa_trust=tsa_trust,
    )
    if not v.root.is_dir():
        v.fail(str(v.root), f"{v.root}: not a folder; give the bundle's folder")
    else:
        for name, step in STEPS:
            with v.guard(name):
                step(v)
    return BundleReport(checks=v.checks)
