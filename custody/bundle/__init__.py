"""Court bundles: a BagIt bag (RFC 8493) that a court checks offline, with or without us.

:func:`write_bundle` lays out a case's reports, its whole ledger chain with proofs, the
signed checkpoint and (optionally) the evidence content; :func:`verify_bundle` re-checks all
of it, completeness included, against one trusted verifier key.

Modules: ``model`` (values), ``names`` (paths in a bag), ``bagit`` and ``sums`` (encodings),
``data_list`` (电子数据清单), ``readme`` (the bundle's README), ``files`` and ``writer``
(writing), ``context``, ``verify_bag``, ``verify_ledger``, ``verify_items`` and ``verify``
(checking).
"""

from custody.bundle.model import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    BundleEntry,
    BundleEvidence,
    BundleInput,
    BundleReport,
    CaseReportFiles,
    Check,
)
from custody.bundle.names import safe_file_name
from custody.bundle.verify import verify_bundle
from custody.bundle.writer import write_bundle

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "BundleEntry",
    "BundleEvidence",
    "BundleInput",
    "BundleReport",
    "CaseReportFiles",
    "Check",
    "safe_file_name",
    "verify_bundle",
    "write_bundle",
]
