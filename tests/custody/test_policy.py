"""Tests of custody.policy: the role × action table, grants, clearance and the 404 rule.

The expected table is written out as data, not derived from ROLE_PERMISSIONS, so a change
to the policy must be made twice — once in the code and once here — on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.errors import InputError
from custody.policy import (
    BY_PROCEDURE,
    CASE_SCOPED,
    COPYING,
    GRANT_COVERS,
    GRANT_ONLY_ROLES,
    ROLE_PERMISSIONS,
    CaseScope,
    Decision,
    Grant,
    GrantPermission,
    Level,
    Permission,
    Principal,
    Role,
    can_view_case,
    decide,
    parse_grant_permission,
    parse_level,
    parse_role,
    purpose_required,
)

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
ACCOUNT = "acct"
OWN_DEPT = "dept-a"
OTHER_DEPT = "dept-b"
CASE_NO = "C-1"

A = Permission
R = Role
G = GrantPermission
PUB, INT, S, CONF, TS = (
    Level.PUBLIC,
    Level.INTERNAL,
    Level.SECRET,
    Level.CONFIDENTIAL,
    Level.TOP_SECRET,
)
ALLG = frozenset(GrantPermission)
VIEW = frozenset({G.VIEW})
T, F = True, False

Row = tuple[Role, bool, frozenset[GrantPermission] | None, Level, Level, Permission, bool]

# (role, dept_match, grant_perms or None, clearance, classification, action, expected_allowed)
TABLE: list[Row] = [
    # --- admin: accounts, grants, keys, ledger; the second signature on disposal -------
    (R.ADMIN, T, None, S, INT, A.ACCOUNT_MANAGE, T),
    (R.ADMIN, T, None, S, INT, A.GRANT_MANAGE, T),
    (R.ADMIN, T, None, S, INT, A.KEYS_MANAGE, T),
    (R.ADMIN, T, None, S, INT, A.LEDGER_READ, T),
    (R.ADMIN, T, None, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.ADMIN, T, None, S, INT, A.WHOAMI, T),
    (R.ADMIN, T, None, S, INT, A.OWN_TOKENS, T),
    (R.ADMIN, T, None, S, INT, A.CASE_CREATE, F),
    (R.ADMIN, T, None, S, INT, A.CASE_LIST, F),
    (R.ADMIN, T, None, S, INT, A.TRANSFER_LIST, T),
    (R.ADMIN, F, None, S, INT, A.CASE_VIEW, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_VIEW, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_VERIFY, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_EXPORT, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.ADMIN, F, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, T),  # across departments
    (R.ADMIN, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, T),
    (R.ADMIN, T, None, S, INT, A.EVIDENCE_VIEW, F),  # owning department does not help
    (R.ADMIN, T, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.ADMIN, F, ALLG, S, INT, A.EVIDENCE_DOWNLOAD, F),  # nor does a grant
    (R.ADMIN, F, None, CONF, TS, A.EVIDENCE_DISPOSE_APPROVE, F),  # not exempt from clearance
    (R.ADMIN, F, None, TS, TS, A.EVIDENCE_DISPOSE_APPROVE, F),  # classified: a destruction list
    # --- technician: intake, custody, disposal requests in the own department -----------
    (R.TECHNICIAN, T, None, S, INT, A.ACCOUNT_MANAGE, F),
    (R.TECHNICIAN, T, None, S, INT, A.GRANT_MANAGE, F),
    (R.TECHNICIAN, T, None, S, INT, A.KEYS_MANAGE, F),
    (R.TECHNICIAN, T, None, S, INT, A.LEDGER_READ, F),
    (R.TECHNICIAN, T, None, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.TECHNICIAN, T, None, S, INT, A.WHOAMI, T),
    (R.TECHNICIAN, T, None, S, INT, A.OWN_TOKENS, T),
    (R.TECHNICIAN, T, None, S, INT, A.CASE_CREATE, T),
    (R.TECHNICIAN, T, None, S, INT, A.CASE_LIST, T),
    (R.TECHNICIAN, T, None, S, INT, A.TRANSFER_LIST, T),
    (R.TECHNICIAN, T, None, S, INT, A.CASE_VIEW, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_VIEW, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_INTAKE, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_DOWNLOAD, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_VERIFY, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_EXPORT, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_TRANSFER, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_LEGAL_HOLD, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_DISPOSE_REQUEST, T),
    (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),  # never their own approver
    (R.TECHNICIAN, F, None, S, INT, A.CASE_VIEW, F),
    (R.TECHNICIAN, F, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.TECHNICIAN, F, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.TECHNICIAN, F, VIEW, S, INT, A.CASE_VIEW, T),
    (R.TECHNICIAN, F, VIEW, S, INT, A.EVIDENCE_VIEW, T),
    (R.TECHNICIAN, F, VIEW, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.TECHNICIAN, F, VIEW, S, INT, A.EVIDENCE_VERIFY, F),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_DOWNLOAD, T),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_EXPORT, T),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_VERIFY, T),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_INTAKE, F),  # ownership only
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.TECHNICIAN, T, None, S, CONF, A.EVIDENCE_INTAKE, F),  # one level below
    (R.TECHNICIAN, T, None, CONF, CONF, A.EVIDENCE_INTAKE, T),  # equal
    (R.TECHNICIAN, T, None, TS, CONF, A.EVIDENCE_INTAKE, T),  # above
    (R.TECHNICIAN, T, None, PUB, INT, A.CASE_VIEW, F),
    (R.TECHNICIAN, T, None, INT, INT, A.CASE_VIEW, T),
    (R.TECHNICIAN, T, None, PUB, PUB, A.EVIDENCE_DOWNLOAD, T),
    (R.TECHNICIAN, T, None, PUB, TS, A.CASE_CREATE, T),  # not case-scoped: no clearance
    (R.TECHNICIAN, F, None, PUB, TS, A.CASE_LIST, T),
    # --- investigator: cases and handovers, never content --------------------------------
    (R.INVESTIGATOR, T, None, S, INT, A.ACCOUNT_MANAGE, F),
    (R.INVESTIGATOR, T, None, S, INT, A.GRANT_MANAGE, F),
    (R.INVESTIGATOR, T, None, S, INT, A.KEYS_MANAGE, F),
    (R.INVESTIGATOR, T, None, S, INT, A.LEDGER_READ, F),
    (R.INVESTIGATOR, T, None, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.INVESTIGATOR, T, None, S, INT, A.WHOAMI, T),
    (R.INVESTIGATOR, T, None, S, INT, A.OWN_TOKENS, T),
    (R.INVESTIGATOR, T, None, S, INT, A.CASE_CREATE, T),
    (R.INVESTIGATOR, T, None, S, INT, A.CASE_LIST, T),
    (R.INVESTIGATOR, T, None, S, INT, A.TRANSFER_LIST, T),
    (R.INVESTIGATOR, T, None, S, INT, A.CASE_VIEW, T),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_VIEW, T),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_VERIFY, F),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_EXPORT, F),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_TRANSFER, T),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, T),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
    (R.INVESTIGATOR, F, ALLG, S, INT, A.EVIDENCE_DOWNLOAD, F),  # a grant cannot widen a role
    (R.INVESTIGATOR, F, ALLG, S, INT, A.EVIDENCE_VIEW, T),
    (R.INVESTIGATOR, F, ALLG, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.INVESTIGATOR, F, ALLG, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.INVESTIGATOR, F, None, S, INT, A.CASE_VIEW, F),
    (R.INVESTIGATOR, T, None, S, TS, A.EVIDENCE_TRANSFER, F),
    # --- prosecutor: verify, download, export, legal hold --------------------------------
    (R.PROSECUTOR, T, None, S, INT, A.ACCOUNT_MANAGE, F),
    (R.PROSECUTOR, T, None, S, INT, A.GRANT_MANAGE, F),
    (R.PROSECUTOR, T, None, S, INT, A.KEYS_MANAGE, F),
    (R.PROSECUTOR, T, None, S, INT, A.LEDGER_READ, F),
    (R.PROSECUTOR, T, None, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.PROSECUTOR, T, None, S, INT, A.WHOAMI, T),
    (R.PROSECUTOR, T, None, S, INT, A.OWN_TOKENS, T),
    (R.PROSECUTOR, T, None, S, INT, A.CASE_CREATE, F),
    (R.PROSECUTOR, T, None, S, INT, A.CASE_LIST, T),
    (R.PROSECUTOR, T, None, S, INT, A.TRANSFER_LIST, T),
    (R.PROSECUTOR, T, None, S, INT, A.CASE_VIEW, T),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_VIEW, T),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_DOWNLOAD, T),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_VERIFY, T),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_EXPORT, T),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_LEGAL_HOLD, T),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
    (R.PROSECUTOR, F, None, S, INT, A.EVIDENCE_VIEW, F),
    (R.PROSECUTOR, F, frozenset({G.VIEW, G.DOWNLOAD}), S, INT, A.CASE_VIEW, T),
    (R.PROSECUTOR, F, frozenset({G.VIEW, G.DOWNLOAD}), S, INT, A.EVIDENCE_DOWNLOAD, T),
    (R.PROSECUTOR, F, frozenset({G.VIEW, G.DOWNLOAD}), S, INT, A.EVIDENCE_EXPORT, F),
    (R.PROSECUTOR, F, frozenset({G.VIEW, G.DOWNLOAD}), S, INT, A.EVIDENCE_VERIFY, F),
    (R.PROSECUTOR, F, ALLG, S, INT, A.EVIDENCE_LEGAL_HOLD, F),  # ownership only
    (R.PROSECUTOR, T, None, CONF, TS, A.EVIDENCE_DOWNLOAD, F),
    (R.PROSECUTOR, F, ALLG, TS, TS, A.EVIDENCE_EXPORT, F),  # classified: grants give nothing
    # --- defence lawyer: only what a grant names ------------------------------------------
    (R.DEFENSE, F, ALLG, S, INT, A.ACCOUNT_MANAGE, F),
    (R.DEFENSE, F, ALLG, S, INT, A.GRANT_MANAGE, F),
    (R.DEFENSE, F, ALLG, S, INT, A.KEYS_MANAGE, F),
    (R.DEFENSE, F, ALLG, S, INT, A.LEDGER_READ, F),
    (R.DEFENSE, F, ALLG, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.DEFENSE, F, ALLG, S, INT, A.CASE_CREATE, F),
    (R.DEFENSE, F, ALLG, S, INT, A.CASE_LIST, T),
    (R.DEFENSE, F, ALLG, S, INT, A.TRANSFER_LIST, F),
    (R.DEFENSE, F, ALLG, S, INT, A.CASE_VIEW, T),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_VIEW, T),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_INTAKE, F),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_DOWNLOAD, T),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_VERIFY, T),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_EXPORT, T),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.DEFENSE, F, ALLG, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
    (R.DEFENSE, T, None, S, INT, A.CASE_VIEW, F),  # same department string, no grant
    (R.DEFENSE, T, None, S, INT, A.EVIDENCE_VIEW, F),
    (R.DEFENSE, T, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.DEFENSE, T, None, S, INT, A.EVIDENCE_VERIFY, F),
    (R.DEFENSE, T, VIEW, S, INT, A.CASE_VIEW, T),
    (R.DEFENSE, T, VIEW, S, INT, A.EVIDENCE_DOWNLOAD, F),  # the department does not add to it
    (R.DEFENSE, F, VIEW, S, INT, A.EVIDENCE_VIEW, T),
    (R.DEFENSE, F, VIEW, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.DEFENSE, F, VIEW, S, INT, A.EVIDENCE_EXPORT, F),
    (R.DEFENSE, F, VIEW, S, INT, A.EVIDENCE_VERIFY, F),
    (R.DEFENSE, F, frozenset({G.VERIFY}), S, INT, A.EVIDENCE_VERIFY, T),
    (R.DEFENSE, F, frozenset({G.VERIFY}), S, INT, A.CASE_VIEW, T),  # any grant implies view
    (R.DEFENSE, F, frozenset({G.VERIFY}), S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.DEFENSE, F, ALLG, S, CONF, A.EVIDENCE_VIEW, F),  # one level below
    (R.DEFENSE, F, ALLG, CONF, CONF, A.EVIDENCE_VIEW, F),  # classified: grants give nothing
    (R.DEFENSE, F, None, S, INT, A.LEDGER_CHECKPOINT, T),  # hashes only: no grant needed
    (R.DEFENSE, F, None, S, INT, A.WHOAMI, T),
    (R.DEFENSE, F, None, S, INT, A.OWN_TOKENS, T),
    (R.DEFENSE, F, None, S, INT, A.CASE_LIST, T),
    # --- judge: as the defence, through grants --------------------------------------------
    (R.JUDGE, F, ALLG, S, INT, A.ACCOUNT_MANAGE, F),
    (R.JUDGE, F, ALLG, S, INT, A.GRANT_MANAGE, F),
    (R.JUDGE, F, ALLG, S, INT, A.KEYS_MANAGE, F),
    (R.JUDGE, F, ALLG, S, INT, A.LEDGER_READ, F),
    (R.JUDGE, F, ALLG, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.JUDGE, F, None, S, INT, A.WHOAMI, T),
    (R.JUDGE, F, None, S, INT, A.OWN_TOKENS, T),
    (R.JUDGE, F, ALLG, S, INT, A.CASE_CREATE, F),
    (R.JUDGE, F, ALLG, S, INT, A.CASE_LIST, T),
    (R.JUDGE, F, ALLG, S, INT, A.TRANSFER_LIST, F),
    (R.JUDGE, F, ALLG, S, INT, A.CASE_VIEW, T),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_VIEW, T),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_INTAKE, F),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_DOWNLOAD, T),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_VERIFY, T),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_EXPORT, T),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.JUDGE, F, ALLG, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
    (R.JUDGE, F, frozenset({G.VIEW, G.EXPORT}), S, INT, A.EVIDENCE_EXPORT, T),
    (R.JUDGE, F, frozenset({G.VIEW, G.EXPORT}), S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.JUDGE, T, None, S, INT, A.EVIDENCE_VIEW, F),  # same department string, no grant
    (R.JUDGE, T, None, S, INT, A.EVIDENCE_EXPORT, F),
    (R.JUDGE, F, ALLG, TS, TS, A.EVIDENCE_DOWNLOAD, F),  # classified: grants give nothing
    (R.JUDGE, F, ALLG, CONF, TS, A.EVIDENCE_DOWNLOAD, F),
    # --- auditor: the whole ledger, never a case's content --------------------------------
    (R.AUDITOR, T, None, S, INT, A.ACCOUNT_MANAGE, F),
    (R.AUDITOR, T, None, S, INT, A.GRANT_MANAGE, F),
    (R.AUDITOR, T, None, S, INT, A.KEYS_MANAGE, F),
    (R.AUDITOR, T, None, S, INT, A.LEDGER_READ, T),
    (R.AUDITOR, T, None, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.AUDITOR, T, None, S, INT, A.WHOAMI, T),
    (R.AUDITOR, T, None, S, INT, A.OWN_TOKENS, T),
    (R.AUDITOR, T, None, S, INT, A.CASE_CREATE, F),
    (R.AUDITOR, T, None, S, INT, A.CASE_LIST, T),
    (R.AUDITOR, T, None, S, INT, A.TRANSFER_LIST, T),
    (R.AUDITOR, T, None, S, INT, A.CASE_VIEW, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_VIEW, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_VERIFY, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_EXPORT, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.AUDITOR, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
    (R.AUDITOR, F, ALLG, S, INT, A.EVIDENCE_VIEW, F),
    (R.AUDITOR, F, ALLG, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.AUDITOR, T, None, TS, PUB, A.CASE_VIEW, F),
    # --- the classified-material procedures (issue 13), on an owned 秘密 case ---------
    (R.ADMIN, T, None, S, S, A.CLASSIFICATION_PROPOSE, F),
    (R.ADMIN, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.ADMIN, T, None, S, S, A.BORROW_REQUEST, F),
    (R.ADMIN, T, None, S, S, A.BORROW_APPROVE, F),
    (R.ADMIN, T, None, S, S, A.BORROW_RETURN, F),
    (R.ADMIN, T, None, S, S, A.REGISTER_READ, F),
    (R.ADMIN, T, None, S, S, A.COPY_DESTROY, F),
    (R.ADMIN, T, None, S, S, A.DESTRUCTION_PROPOSE, F),
    (R.ADMIN, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.ADMIN, T, None, S, S, A.DESTRUCTION_WITNESS, F),
    (R.ADMIN, T, None, S, S, A.BORROW_LIST, F),
    (R.AUDITOR, T, None, S, S, A.CLASSIFICATION_PROPOSE, F),
    (R.AUDITOR, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.AUDITOR, T, None, S, S, A.BORROW_REQUEST, F),
    (R.AUDITOR, T, None, S, S, A.BORROW_APPROVE, F),
    (R.AUDITOR, T, None, S, S, A.BORROW_RETURN, F),
    (R.AUDITOR, T, None, S, S, A.REGISTER_READ, F),
    (R.AUDITOR, T, None, S, S, A.COPY_DESTROY, F),
    (R.AUDITOR, T, None, S, S, A.DESTRUCTION_PROPOSE, F),
    (R.AUDITOR, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.AUDITOR, T, None, S, S, A.DESTRUCTION_WITNESS, F),
    (R.AUDITOR, T, None, S, S, A.BORROW_LIST, F),
    (R.TECHNICIAN, T, None, S, S, A.CLASSIFICATION_PROPOSE, T),
    (R.TECHNICIAN, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.TECHNICIAN, T, None, S, S, A.BORROW_REQUEST, T),
    (R.TECHNICIAN, T, None, S, S, A.BORROW_APPROVE, F),
    (R.TECHNICIAN, T, None, S, S, A.BORROW_RETURN, T),
    (R.TECHNICIAN, T, None, S, S, A.REGISTER_READ, T),
    (R.TECHNICIAN, T, None, S, S, A.COPY_DESTROY, T),
    (R.TECHNICIAN, T, None, S, S, A.DESTRUCTION_PROPOSE, T),
    (R.TECHNICIAN, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.TECHNICIAN, T, None, S, S, A.DESTRUCTION_WITNESS, T),
    (R.TECHNICIAN, T, None, S, S, A.BORROW_LIST, T),
    (R.INVESTIGATOR, T, None, S, S, A.CLASSIFICATION_PROPOSE, T),
    (R.INVESTIGATOR, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.INVESTIGATOR, T, None, S, S, A.BORROW_REQUEST, T),
    (R.INVESTIGATOR, T, None, S, S, A.BORROW_APPROVE, F),
    (R.INVESTIGATOR, T, None, S, S, A.BORROW_RETURN, T),
    (R.INVESTIGATOR, T, None, S, S, A.REGISTER_READ, T),
    (R.INVESTIGATOR, T, None, S, S, A.COPY_DESTROY, T),
    (R.INVESTIGATOR, T, None, S, S, A.DESTRUCTION_PROPOSE, T),
    (R.INVESTIGATOR, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.INVESTIGATOR, T, None, S, S, A.DESTRUCTION_WITNESS, T),
    (R.INVESTIGATOR, T, None, S, S, A.BORROW_LIST, T),
    (R.PROSECUTOR, T, None, S, S, A.CLASSIFICATION_PROPOSE, F),
    (R.PROSECUTOR, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.PROSECUTOR, T, None, S, S, A.BORROW_REQUEST, T),
    (R.PROSECUTOR, T, None, S, S, A.BORROW_APPROVE, F),
    (R.PROSECUTOR, T, None, S, S, A.BORROW_RETURN, T),
    (R.PROSECUTOR, T, None, S, S, A.REGISTER_READ, F),
    (R.PROSECUTOR, T, None, S, S, A.COPY_DESTROY, T),
    (R.PROSECUTOR, T, None, S, S, A.DESTRUCTION_PROPOSE, F),
    (R.PROSECUTOR, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.PROSECUTOR, T, None, S, S, A.DESTRUCTION_WITNESS, F),
    (R.PROSECUTOR, T, None, S, S, A.BORROW_LIST, T),
    (R.DEFENSE, T, None, S, S, A.CLASSIFICATION_PROPOSE, F),
    (R.DEFENSE, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.DEFENSE, T, None, S, S, A.BORROW_REQUEST, T),
    (R.DEFENSE, T, None, S, S, A.BORROW_APPROVE, F),
    (R.DEFENSE, T, None, S, S, A.BORROW_RETURN, T),
    (R.DEFENSE, T, None, S, S, A.REGISTER_READ, F),
    (R.DEFENSE, T, None, S, S, A.COPY_DESTROY, T),
    (R.DEFENSE, T, None, S, S, A.DESTRUCTION_PROPOSE, F),
    (R.DEFENSE, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.DEFENSE, T, None, S, S, A.DESTRUCTION_WITNESS, F),
    (R.DEFENSE, T, None, S, S, A.BORROW_LIST, T),
    (R.JUDGE, T, None, S, S, A.CLASSIFICATION_PROPOSE, F),
    (R.JUDGE, T, None, S, S, A.CLASSIFICATION_APPROVE, F),
    (R.JUDGE, T, None, S, S, A.BORROW_REQUEST, T),
    (R.JUDGE, T, None, S, S, A.BORROW_APPROVE, F),
    (R.JUDGE, T, None, S, S, A.BORROW_RETURN, T),
    (R.JUDGE, T, None, S, S, A.REGISTER_READ, F),
    (R.JUDGE, T, None, S, S, A.COPY_DESTROY, T),
    (R.JUDGE, T, None, S, S, A.DESTRUCTION_PROPOSE, F),
    (R.JUDGE, T, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.JUDGE, T, None, S, S, A.DESTRUCTION_WITNESS, F),
    (R.JUDGE, T, None, S, S, A.BORROW_LIST, T),
    (R.LEADER, T, None, S, S, A.CLASSIFICATION_PROPOSE, F),
    (R.LEADER, T, None, S, S, A.CLASSIFICATION_APPROVE, T),
    (R.LEADER, T, None, S, S, A.BORROW_REQUEST, F),
    (R.LEADER, T, None, S, S, A.BORROW_APPROVE, T),
    (R.LEADER, T, None, S, S, A.BORROW_RETURN, T),
    (R.LEADER, T, None, S, S, A.REGISTER_READ, T),
    (R.LEADER, T, None, S, S, A.COPY_DESTROY, T),
    (R.LEADER, T, None, S, S, A.DESTRUCTION_PROPOSE, F),
    (R.LEADER, T, None, S, S, A.DESTRUCTION_APPROVE, T),
    (R.LEADER, T, None, S, S, A.DESTRUCTION_WITNESS, T),
    (R.LEADER, T, None, S, S, A.BORROW_LIST, T),
    # --- leader (部门负责人): approves; sees the own department's cases; never copies ----
    (R.LEADER, T, None, S, INT, A.ACCOUNT_MANAGE, F),
    (R.LEADER, T, None, S, INT, A.OWN_TOKENS, T),
    (R.LEADER, T, None, S, INT, A.WHOAMI, T),
    (R.LEADER, T, None, S, INT, A.CASE_CREATE, F),
    (R.LEADER, T, None, S, INT, A.CASE_LIST, T),
    (R.LEADER, T, None, S, INT, A.CASE_VIEW, T),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_VIEW, T),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_DISPOSE_REQUEST, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_EXPORT, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_INTAKE, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_LEGAL_HOLD, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_TRANSFER, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_TRANSFER_ACCEPT, F),
    (R.LEADER, T, None, S, INT, A.EVIDENCE_VERIFY, F),
    (R.LEADER, T, None, S, INT, A.GRANT_MANAGE, F),
    (R.LEADER, T, None, S, INT, A.KEYS_MANAGE, F),
    (R.LEADER, T, None, S, INT, A.LEDGER_CHECKPOINT, T),
    (R.LEADER, T, None, S, INT, A.LEDGER_READ, F),
    (R.LEADER, T, None, S, INT, A.TRANSFER_LIST, T),
    (R.LEADER, F, None, S, INT, A.CASE_VIEW, F),  # another department's case
    (R.LEADER, T, None, S, S, A.CASE_VIEW, T),  # the own department's classified case
    (R.LEADER, T, None, INT, S, A.CASE_VIEW, F),  # not cleared for it
    (R.LEADER, F, None, S, S, A.CLASSIFICATION_APPROVE, F),  # another department's case
    (R.LEADER, F, None, S, S, A.DESTRUCTION_APPROVE, F),
    (R.LEADER, F, None, S, S, A.BORROW_APPROVE, T),  # the borrower's own leader: rules decide
    (R.LEADER, F, None, INT, S, A.BORROW_APPROVE, F),  # but never uncleared
    # --- a classified case: grants give nothing, copying needs a borrowing --------------
    (R.TECHNICIAN, T, None, S, S, A.CASE_VIEW, T),
    (R.TECHNICIAN, T, None, S, S, A.EVIDENCE_VIEW, T),
    (R.TECHNICIAN, T, None, S, S, A.EVIDENCE_VERIFY, T),
    (R.TECHNICIAN, T, None, S, S, A.EVIDENCE_INTAKE, T),
    (R.TECHNICIAN, T, None, S, S, A.EVIDENCE_DOWNLOAD, F),  # a copy needs a borrowing
    (R.TECHNICIAN, T, None, S, S, A.EVIDENCE_EXPORT, F),
    (R.TECHNICIAN, T, None, S, S, A.EVIDENCE_DISPOSE_REQUEST, F),  # a destruction list
    (R.ADMIN, T, None, S, S, A.EVIDENCE_DISPOSE_APPROVE, F),  # administrators never approve
    (R.TECHNICIAN, F, ALLG, S, S, A.CASE_VIEW, F),  # grants give nothing
    (R.TECHNICIAN, F, ALLG, S, S, A.EVIDENCE_DOWNLOAD, F),
    (R.DEFENSE, F, ALLG, S, S, A.EVIDENCE_VIEW, F),
    (R.PROSECUTOR, F, None, S, S, A.BORROW_REQUEST, T),  # asks for what it cannot see yet
    (R.PROSECUTOR, F, None, INT, S, A.BORROW_REQUEST, F),  # not cleared: no borrowing
    (R.DEFENSE, F, None, CONF, TS, A.BORROW_REQUEST, F),
]


def principal(
    role: Role = Role.TECHNICIAN,
    *,
    clearance: Level = Level.SECRET,
    department: str = OWN_DEPT,
    active: bool = True,
    account: str = ACCOUNT,
) -> Principal:
    return Principal(
        account=account, role=role, department=department, clearance=clearance, active=active
    )


def case(
    *,
    dept_match: bool = True,
    classification: Level = Level.INTERNAL,
    number: str = CASE_NO,
) -> CaseScope:
    return CaseScope(
        number=number,
        department=OWN_DEPT if dept_match else OTHER_DEPT,
        classification=classification,
    )


def grant(
    permissions: frozenset[GrantPermission] = VIEW,
    *,
    case_no: str = CASE_NO,
    account: str = ACCOUNT,
    expires_at: datetime | None = NOW + timedelta(days=30),
    revoked: bool = False,
) -> Grant:
    return Grant(
        case=case_no,
        account=account,
        permissions=permissions,
        granted_by="registrar",
        expires_at=expires_at,
        revoked=revoked,
    )


# Grants that must never count: everything for someone else, and everything on another case.
NOISE = (grant(ALLG, account="someone-else"), grant(ALLG, case_no="C-2"))


def _row_id(row: Row) -> str:
    role, dept, perms, clr, cls, action, expected = row
    perm = "-" if perms is None else "+".join(sorted(perms))
    where = "own" if dept else "other"
    verdict = "allow" if expected else "deny"
    return f"{role}:{action}:{where}:grant={perm}:{clr}>={cls}:{verdict}"


def _decide_row(row: Row) -> Decision:
    role, dept_match, perms, clr, cls, action, _ = row
    grants = (*NOISE, grant(perms)) if perms is not None else NOISE
    return decide(
        principal=principal(role, clearance=clr),
        action=action,
        case=case(dept_match=dept_match, classification=cls),
        grants=grants,
        now=NOW,
    )


@pytest.mark.parametrize("row", TABLE, ids=[_row_id(r) for r in TABLE])
def test_table(row: Row) -> None:
    decision = _decide_row(row)
    assert decision.allowed is row[-1], decision.reason
    assert decision.action is row[5]
    assert decision.reason.strip()
    if not decision.allowed:
        assert any(word in decision.reason for word in ("role", "department", "clearance"))


def test_table_covers_every_role_and_action() -> None:
    pairs = {(row[0], row[5]) for row in TABLE}
    missing = {(r.value, a.value) for r in Role for a in Permission} - {
        (r.value, a.value) for r, a in pairs
    }
    assert not missing, f"add table rows for {sorted(missing)}"
    assert {row[5] for row in TABLE} == set(Permission)
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_table_has_no_contradictory_rows() -> None:
    seen: dict[tuple[object, ...], bool] = {}
    for row in TABLE:
        key, expected = row[:-1], row[-1]
        assert seen.setdefault(key, expected) is expected, f"contradictory rows for {key}"


# Written out by hand, not derived from the code: which actions concern one case (and so
# need ownership or a grant, and clearance), and which grant permission covers which action.
EXPECTED_CASE_SCOPED = {
    "case.view",
    "evidence.view",
    "evidence.intake",
    "evidence.download",
    "evidence.verify",
    "evidence.export",
    "evidence.transfer",
    "evidence.transfer.accept",
    "evidence.legal_hold",
    "evidence.dispose.request",
    "evidence.dispose.approve",
    "classification.propose",
    "classification.approve",
    "borrowing.request",
    "borrowing.approve",
    "borrowing.return",
    "register.read",
    "copy.destroy",
    "destruction.propose",
    "destruction.approve",
    "destruction.witness",
}
EXPECTED_NOT_CASE_SCOPED = {
    "borrowing.list",
    "account.manage",
    "grant.manage",
    "keys.manage",
    "ledger.read",
    "ledger.checkpoint",
    "account.whoami",
    "account.own_tokens",
    "case.create",
    "case.list",
    "transfer.list",
}
EXPECTED_GRANT_COVERS = {
    "case.view": "view",
    "evidence.view": "view",
    "evidence.verify": "verify",
    "evidence.download": "download",
    "evidence.export": "export",
}


def test_case_scoped_set_matches_action_property() -> None:
    assert {a.value for a in Permission if a.case_scoped} == EXPECTED_CASE_SCOPED
    assert {a.value for a in Permission if not a.case_scoped} == EXPECTED_NOT_CASE_SCOPED
    assert {a.value for a in CASE_SCOPED} == EXPECTED_CASE_SCOPED
    assert {a.value: p.value for a, p in GRANT_COVERS.items()} == EXPECTED_GRANT_COVERS


# --- grants: live, expired, revoked, elsewhere ---------------------------------------------


@pytest.mark.parametrize(
    "g",
    [
        grant(ALLG, expires_at=NOW - timedelta(seconds=1)),
        grant(ALLG, expires_at=NOW),  # expiring exactly now is over
        grant(ALLG, revoked=True),
        grant(ALLG, revoked=True, expires_at=None),
        grant(ALLG, case_no="C-2"),
        grant(ALLG, account="other-lawyer"),
    ],
    ids=["expired", "expires-now", "revoked", "revoked-no-expiry", "other-case", "other-account"],
)
@pytest.mark.parametrize("role", [Role.DEFENSE, Role.TECHNICIAN])
def test_dead_or_foreign_grant_denies(g: Grant, role: Role) -> None:
    d = decide(
        principal=principal(role),
        action=Permission.EVIDENCE_DOWNLOAD,
        case=case(dept_match=False),
        grants=[g],
        now=NOW,
    )
    assert not d.allowed
    assert d.hide_existence
    assert "grant" in d.reason


def test_reason_explains_expired_and_revoked_grants() -> None:
    expired = grant(ALLG, expires_at=NOW - timedelta(days=1))
    d = decide(
        principal=principal(Role.DEFENSE),
        action=Permission.CASE_VIEW,
        case=case(dept_match=False),
        grants=[expired],
        now=NOW,
    )
    assert "expired" in d.reason
    d = decide(
        principal=principal(Role.DEFENSE),
        action=Permission.CASE_VIEW,
        case=case(dept_match=False),
        grants=[grant(ALLG, revoked=True)],
        now=NOW,
    )
    assert "revoked" in d.reason


def test_grant_without_expiry_is_live() -> None:
    d = decide(
        principal=principal(Role.JUDGE),
        action=Permission.EVIDENCE_EXPORT,
        case=case(dept_match=False),
        grants=[grant(frozenset({G.EXPORT}), expires_at=None)],
        now=NOW,
    )
    assert d.allowed
    assert d.grant is not None and d.grant.granted_by == "registrar"


def test_any_live_grant_among_several_suffices() -> None:
    grants = [
        grant(VIEW, revoked=True),
        grant(frozenset({G.DOWNLOAD}), expires_at=NOW - timedelta(days=1)),
        grant(VIEW),
        grant(frozenset({G.VIEW, G.DOWNLOAD})),
    ]
    d = decide(
        principal=principal(Role.DEFENSE),
        action=Permission.EVIDENCE_DOWNLOAD,
        case=case(dept_match=False),
        grants=iter(grants),  # a one-shot iterable is enough
        now=NOW,
    )
    assert d.allowed
    assert d.grant == grants[3]


def test_grants_accept_plain_strings_and_reject_unknown_ones() -> None:
    g = Grant(case="C", account="a", permissions=frozenset({"view", "download"}), granted_by="x")  # type: ignore[arg-type]
    assert g.permissions == {G.VIEW, G.DOWNLOAD}
    with pytest.raises(ValueError):
        Grant(case="C", account="a", permissions=frozenset({"delete"}), granted_by="x")  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        grant(expires_at=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(
            principal=principal(),
            action=Permission.CASE_LIST,
            case=None,
            now=datetime(2030, 1, 1),
        )


# --- inactive accounts, missing cases ------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Permission))
def test_inactive_account_is_denied_everything(role: Role, action: Permission) -> None:
    d = decide(
        principal=principal(role, clearance=Level.TOP_SECRET, active=False),
        action=action,
        case=case(classification=Level.PUBLIC),
        grants=[grant(ALLG)],
        now=NOW,
    )
    assert not d.allowed
    assert "inactive" in d.reason
    assert d.hide_existence is action.case_scoped


@pytest.mark.parametrize("action", sorted(CASE_SCOPED))
def test_case_scoped_action_without_case_is_a_programming_error(action: Permission) -> None:
    with pytest.raises(ValueError, match="case-scoped"):
        decide(principal=principal(), action=action, case=None, now=NOW)


def test_non_case_action_ignores_the_case() -> None:
    d = decide(
        principal=principal(Role.TECHNICIAN, clearance=Level.PUBLIC),
        action=Permission.CASE_CREATE,
        case=case(dept_match=False, classification=Level.TOP_SECRET),
        now=NOW,
    )
    assert d.allowed
    assert d.case is None
    assert not d.hide_existence


# --- reasons ---------------------------------------------------------------------------------


def test_reason_for_role() -> None:
    d = decide(
        principal=principal(Role.INVESTIGATOR),
        action=Permission.EVIDENCE_DOWNLOAD,
        case=case(),
        now=NOW,
    )
    assert "role investigator may not evidence.download" in d.reason
    assert "prosecutor" in d.reason  # says who may


def test_reason_for_department_and_grant() -> None:
    d = decide(
        principal=principal(Role.PROSECUTOR, department="X"),
        action=Permission.EVIDENCE_DOWNLOAD,
        case=case(),
        grants=[grant(VIEW)],
        now=NOW,
    )
    assert "department 'X' does not own case C-1" in d.reason
    assert "no live grant covers 'download'" in d.reason
    assert "covers only view" in d.reason
    assert "ask" in d.reason


def test_reason_for_ungrantable_action() -> None:
    d = decide(
        principal=principal(Role.TECHNICIAN),
        action=Permission.EVIDENCE_INTAKE,
        case=case(dept_match=False),
        grants=[grant(ALLG)],
        now=NOW,
    )
    assert "needs department ownership" in d.reason


def test_reason_for_grant_only_role() -> None:
    d = decide(
        principal=principal(Role.DEFENSE),
        action=Permission.CASE_VIEW,
        case=case(dept_match=True),
        now=NOW,
    )
    assert "only through a grant" in d.reason


def test_reason_for_clearance() -> None:
    d = decide(
        principal=principal(Role.TECHNICIAN, clearance=Level.SECRET),
        action=Permission.EVIDENCE_VIEW,
        case=case(classification=Level.TOP_SECRET),
        now=NOW,
    )
    assert "clearance secret is below the case's classification top_secret" in d.reason


def test_allowed_decision_names_its_basis() -> None:
    own = decide(principal=principal(), action=Permission.EVIDENCE_VIEW, case=case(), now=NOW)
    assert own.allowed and "owns case C-1" in own.reason and own.grant is None
    granted = decide(
        principal=principal(Role.DEFENSE),
        action=Permission.EVIDENCE_VIEW,
        case=case(dept_match=False),
        grants=[grant(VIEW)],
        now=NOW,
    )
    assert granted.allowed and "grant by 'registrar'" in granted.reason
    approve = decide(
        principal=principal(Role.ADMIN, department="admin"),
        action=Permission.EVIDENCE_DISPOSE_APPROVE,
        case=case(),
        now=NOW,
    )
    assert approve.allowed and "across departments" in approve.reason


# --- 404 or 403 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "dept_match", "perms", "clearance", "classification", "action", "hide"),
    [
        # no way to see the case: 404
        (R.TECHNICIAN, F, None, S, INT, A.CASE_VIEW, T),
        (R.TECHNICIAN, F, None, S, INT, A.EVIDENCE_INTAKE, T),
        (R.TECHNICIAN, T, None, S, TS, A.EVIDENCE_VIEW, T),  # clearance below
        (R.PROSECUTOR, F, ALLG, S, CONF, A.EVIDENCE_DOWNLOAD, T),  # grant, but clearance
        (R.DEFENSE, T, None, S, INT, A.EVIDENCE_VIEW, T),  # department string, no grant
        (R.JUDGE, F, None, S, INT, A.EVIDENCE_EXPORT, T),
        (R.AUDITOR, T, None, S, INT, A.EVIDENCE_VIEW, T),  # the role cannot see cases
        (R.ADMIN, F, None, S, INT, A.EVIDENCE_DOWNLOAD, T),
        (R.ADMIN, F, None, CONF, TS, A.EVIDENCE_DISPOSE_APPROVE, T),
        # sees the case, this action refused: 403
        (R.DEFENSE, F, VIEW, S, INT, A.EVIDENCE_DOWNLOAD, F),
        (R.JUDGE, F, VIEW, S, INT, A.EVIDENCE_EXPORT, F),
        (R.INVESTIGATOR, T, None, S, INT, A.EVIDENCE_DOWNLOAD, F),
        (R.TECHNICIAN, F, ALLG, S, INT, A.EVIDENCE_INTAKE, F),  # granted viewer, cannot intake
        (R.TECHNICIAN, T, None, S, INT, A.EVIDENCE_DISPOSE_APPROVE, F),
        (R.PROSECUTOR, T, None, S, INT, A.EVIDENCE_TRANSFER, F),
        # not case-scoped: always 403
        (R.INVESTIGATOR, T, None, S, INT, A.ACCOUNT_MANAGE, F),
        (R.DEFENSE, F, None, S, INT, A.TRANSFER_LIST, F),
    ],
)
def test_hide_existence(
    role: Role,
    dept_match: bool,
    perms: frozenset[GrantPermission] | None,
    clearance: Level,
    classification: Level,
    action: Permission,
    hide: bool,
) -> None:
    d = _decide_row((role, dept_match, perms, clearance, classification, action, False))
    assert not d.allowed
    assert d.hide_existence is hide
    if hide:
        assert d.public_reason == "case C-1 not found"
        assert "classification" not in d.public_reason
    else:
        assert d.public_reason == d.reason


@pytest.mark.parametrize("row", [r for r in TABLE if r[-1]], ids=_row_id)
def test_allowed_never_hides(row: Row) -> None:
    assert not _decide_row(row).hide_existence


# --- can_view_case, purpose ----------------------------------------------------------------


def test_can_view_case() -> None:
    assert can_view_case(principal(), case(), [], NOW)
    assert not can_view_case(principal(), case(dept_match=False), [], NOW)
    assert can_view_case(principal(), case(dept_match=False), [grant(VIEW)], NOW)
    assert not can_view_case(principal(Role.DEFENSE), case(), [], NOW)
    assert can_view_case(principal(Role.DEFENSE), case(), [grant(frozenset({G.EXPORT}))], NOW)
    assert not can_view_case(principal(Role.AUDITOR), case(), [], NOW)
    assert not can_view_case(
        principal(clearance=Level.INTERNAL), case(classification=Level.SECRET), [], NOW
    )
    assert not can_view_case(principal(active=False), case(), [], NOW)


def test_purpose_required() -> None:
    required = {a for a in Permission if purpose_required(a)}
    assert required == {Permission.EVIDENCE_DOWNLOAD, Permission.EVIDENCE_EXPORT}


# --- levels and parsing ----------------------------------------------------------------------


def test_levels_order_by_rank_not_spelling() -> None:
    order = [PUB, INT, S, CONF, TS]
    assert sorted(reversed(order)) == order
    assert S < CONF < TS  # alphabetically "confidential" < "secret" < "top_secret"
    assert CONF > S and TS >= TS and PUB <= INT
    assert [level.rank for level in order] == [0, 1, 2, 3, 4]
    assert max(order) is TS


def test_levels_refuse_comparison_with_plain_strings() -> None:
    with pytest.raises(TypeError):
        assert S < "top_secret"
    with pytest.raises(TypeError):
        assert "top_secret" > S


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("secret", S),
        (" SECRET ", S),
        ("top-secret", TS),
        ("top secret", TS),
        ("top_secret", TS),
        ("confidential", CONF),
        ("公开", PUB),
        ("内部", INT),
        ("秘密", S),
        ("机密", CONF),
        ("绝密", TS),
    ],
)
def test_parse_level(text: str, level: Level) -> None:
    assert parse_level(text) is level


def test_parse_level_lists_choices() -> None:
    with pytest.raises(InputError) as info:
        parse_level("ultra")
    message = info.value.message
    assert "'ultra'" in message
    for level in Level:
        assert level.value in message
    assert "绝密" in message


def test_parse_role_and_permission() -> None:
    assert parse_role("Judge") is Role.JUDGE
    assert parse_grant_permission("DOWNLOAD") is G.DOWNLOAD
    with pytest.raises(InputError, match="technician"):
        parse_role("janitor")
    with pytest.raises(InputError, match="export"):
        parse_grant_permission("delete")


def test_principal_and_case_accept_stored_strings() -> None:
    p = Principal(account="a", role="judge", department="d", clearance="secret", active=True)  # type: ignore[arg-type]
    assert p.role is Role.JUDGE and p.clearance is Level.SECRET
    c = CaseScope(number="C", department="d", classification="top_secret")  # type: ignore[arg-type]
    assert c.classification is Level.TOP_SECRET
    with pytest.raises(ValueError):
        Principal(account="a", role="root", department="d", clearance="secret", active=True)  # type: ignore[arg-type]


# --- properties over random requests --------------------------------------------------------

_PERMS = st.frozensets(st.sampled_from(list(GrantPermission)))


@st.composite
def _requests(
    draw: st.DrawFn,
) -> tuple[Principal, Permission, CaseScope, tuple[Grant, ...]]:
    who = principal(
        draw(st.sampled_from(list(Role))),
        clearance=draw(st.sampled_from(list(Level))),
        active=draw(st.booleans()),
    )
    scope = case(
        dept_match=draw(st.booleans()),
        classification=draw(st.sampled_from(list(Level))),
        number=draw(st.sampled_from(["C-1", "C-2"])),
    )
    grants = tuple(
        grant(
            draw(_PERMS),
            case_no=draw(st.sampled_from(["C-1", "C-2"])),
            account=draw(st.sampled_from([ACCOUNT, "other"])),
            expires_at=draw(st.sampled_from([None, NOW, NOW - timedelta(1), NOW + timedelta(1)])),
            revoked=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    return who, draw(st.sampled_from(list(Permission))), scope, grants


@given(_requests())
def test_properties(request: tuple[Principal, Permission, CaseScope, tuple[Grant, ...]]) -> None:
    who, action, scope, grants = request
    d = decide(principal=who, action=action, case=scope, grants=grants, now=NOW)
    visible = can_view_case(who, scope, grants, NOW)
    assert d.reason.strip()
    if d.allowed:
        assert who.active
        assert action in ROLE_PERMISSIONS[who.role]
        assert not d.hide_existence
    else:
        assert d.hide_existence is (action.case_scoped and not visible)
    if not (d.allowed and action.case_scoped):
        return
    assert who.clearance >= scope.classification
    if action in BY_PROCEDURE:
        return  # the procedure's own rules (custody.secrecy.rules) decide the person
    if scope.classification.classified:
        # no borrowing is given here: only the owning department acts, and never copies
        assert action not in COPYING and d.grant is None
        assert scope.department == who.department and who.role not in GRANT_ONLY_ROLES
        return
    mine = [g for g in grants if g.account == who.account and g.case == scope.number]
    live = [g for g in mine if g.is_live(NOW)]
    if who.role in (Role.DEFENSE, Role.JUDGE):
        needed = GRANT_COVERS[action]
        assert any(g.covers(needed) for g in live)
        assert d.grant in live
    elif action not in GRANT_COVERS and action is not Permission.EVIDENCE_DISPOSE_APPROVE:
        assert scope.department == who.department
    if action is not Permission.EVIDENCE_DISPOSE_APPROVE:
        assert visible  # whoever may act on a case may also see it
