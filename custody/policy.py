"""Who may do what: roles, clearances and case grants, as pure decisions.

The confidentiality regime asks for one account per person or department, graded query and
download permissions, classification levels 秘密/机密/绝密, a register of every borrowing and
destruction only after registration and a second person's approval. Defence lawyers and
courts must see exactly the cases they are granted and nothing else. This module turns that
into one function, :func:`decide`, which the service calls before every action and whose
:class:`Decision` (allowed or not, and why) it writes to the custody ledger.

A request is allowed only when all of these hold:

1. the account is active;
2. its role permits the action (:data:`ROLE_PERMISSIONS`);
3. for a case-scoped action, the account's department owns the case, or a live grant for
   this account and case covers the action (:data:`GRANT_COVERS`). Defence lawyers and
   judges reach cases *only* through grants, never through a department string that happens
   to match. Intake, transfers, legal holds and disposal requests cannot be granted: they
   need ownership. Administrators approve disposals across departments (the approval is a
   procedural second signature), so ``evidence.dispose.approve`` skips this condition for them;
4. for a case-scoped action, the account's clearance is at least the case's classification
   (administrators are not exempt).

The two-person rule for destruction follows from the roles themselves: only case-owning
technicians may request a disposal and only administrators may approve one, so the
requester and the approver are always different accounts.

Every live grant lets its holder see the case (``case.view``/``evidence.view``): the grant
permissions are graded, and one cannot verify or download what one may not see. ``verify``,
``download`` and ``export`` are covered only where the grant names them.

404 or 403 (``Decision.hide_existence``): a denial must not tell an outsider that a case
exists. If the account has no way to see the case at all — :func:`can_view_case` is false
because its role cannot view cases, it neither owns the case nor holds a live grant for it,
its clearance is below the case's classification, or the account is inactive — the denial is
answered as 404 (``hide_existence=True``), exactly as for a case number that does not exist.
If the account can see the case but this particular action is refused (a defence lawyer
with a view-only grant asking to download, an investigator asking to download from their
own department's case), the answer is 403. Denials of actions that are not case-scoped are
always 403. The precise ``reason`` is for the ledger; when ``hide_existence`` is true the
caller must be shown :attr:`Decision.public_reason` instead, because the reason may name the
case's classification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from custody.errors import InputError

__all__ = [
    "BORROWABLE",
    "BY_PROCEDURE",
    "CASE_SCOPED",
    "COPYING",
    "DISPOSAL_BY_LIST",
    "GRANT_COVERS",
    "GRANT_ONLY_ROLES",
    "ROLE_PERMISSIONS",
    "Borrowing",
    "CaseScope",
    "Decision",
    "Grant",
    "GrantPermission",
    "Level",
    "Permission",
    "Principal",
    "Role",
    "can_view_case",
    "decide",
    "grant_refusal",
    "parse_grant_permission",
    "parse_level",
    "parse_role",
    "purpose_required",
]


class Level(StrEnum):
    """Clearance of an account and classification of a case, on one ordered scale.

    Levels compare by rank (``Level.SECRET < Level.TOP_SECRET``), never alphabetically;
    comparing with a plain string raises TypeError rather than silently ordering by spelling.
    """

    PUBLIC = "public"
    INTERNAL = "internal"
    SECRET = "secret"  # 秘密 (a level, not a password)  # noqa: S105
    CONFIDENTIAL = "confidential"  # 机密
    TOP_SECRET = "top_secret"  # 绝密  # noqa: S105

    @property
    def rank(self) -> int:
        """Position on the scale: public is 0, top_secret is 4."""
        return _LEVEL_RANK[self]

    @property
    def classified(self) -> bool:
        """A state secret (秘密, 机密, 绝密): the confidentiality procedures apply."""
        return self.rank >= _LEVEL_RANK[Level.SECRET]

    def _other_rank(self, other: object) -> int:
        if not isinstance(other, Level):
            raise TypeError(f"cannot compare Level with {type(other).__name__}; parse it first")
        return other.rank

    def __lt__(self, other: object) -> bool:
        return self.rank < self._other_rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= self._other_rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > self._other_rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= self._other_rank(other)


_LEVEL_RANK: Mapping[Level, int] = MappingProxyType({level: i for i, level in enumerate(Level)})

_LEVEL_ALIASES: Mapping[str, Level] = MappingProxyType(
    {
        "公开": Level.PUBLIC,
        "内部": Level.INTERNAL,
        "秘密": Level.SECRET,
        "机密": Level.CONFIDENTIAL,
        "绝密": Level.TOP_SECRET,
    }
)


class Role(StrEnum):
    """What an account is for; one role per account (one account per person or department)."""

    ADMIN = "admin"
    TECHNICIAN = "technician"
    INVESTIGATOR = "investigator"
    PROSECUTOR = "prosecutor"
    DEFENSE = "defense"
    JUDGE = "judge"
    AUDITOR = "auditor"
    LEADER = "leader"  # 部门负责人: approves classifications, borrowings and destructions


class Permission(StrEnum):
    """Everything the service lets an account attempt; each attempt is decided and logged."""

    # not case-scoped
    ACCOUNT_MANAGE = "account.manage"
    GRANT_MANAGE = "grant.manage"
    KEYS_MANAGE = "keys.manage"
    LEDGER_READ = "ledger.read"
    LEDGER_CHECKPOINT = "ledger.checkpoint"
    WHOAMI = "account.whoami"
    OWN_TOKENS = "account.own_tokens"
    CASE_CREATE = "case.create"
    CASE_LIST = "case.list"
    TRANSFER_LIST = "transfer.list"
    # case-scoped
    CASE_VIEW = "case.view"
    EVIDENCE_VIEW = "evidence.view"
    EVIDENCE_INTAKE = "evidence.intake"
    EVIDENCE_DOWNLOAD = "evidence.download"
    EVIDENCE_VERIFY = "evidence.verify"
    EVIDENCE_EXPORT = "evidence.export"
    EVIDENCE_TRANSFER = "evidence.transfer"
    EVIDENCE_TRANSFER_ACCEPT = "evidence.transfer.accept"
    EVIDENCE_LEGAL_HOLD = "evidence.legal_hold"
    EVIDENCE_DISPOSE_REQUEST = "evidence.dispose.request"
    EVIDENCE_DISPOSE_APPROVE = "evidence.dispose.approve"
    # classified-material procedures (custody.secrecy decides the steps' own rules)
    CLASSIFICATION_PROPOSE = "classification.propose"
    CLASSIFICATION_APPROVE = "classification.approve"
    BORROW_REQUEST = "borrowing.request"
    BORROW_APPROVE = "borrowing.approve"
    BORROW_RETURN = "borrowing.return"
    REGISTER_READ = "register.read"
    COPY_DESTROY = "copy.destroy"
    DESTRUCTION_PROPOSE = "destruction.propose"
    DESTRUCTION_APPROVE = "destruction.approve"
    DESTRUCTION_WITNESS = "destruction.witness"
    # not case-scoped
    BORROW_LIST = "borrowing.list"

    @property
    def case_scoped(self) -> bool:
        """True when the action concerns one case and so needs a :class:`CaseScope`."""
        return self in CASE_SCOPED


class GrantPermission(StrEnum):
    """What a case grant may name; ``view`` is the least, and every live grant implies it."""

    VIEW = "view"
    VERIFY = "verify"
    DOWNLOAD = "download"
    EXPORT = "export"


CASE_SCOPED: frozenset[Permission] = frozenset(
    {
        Permission.CASE_VIEW,
        Permission.EVIDENCE_VIEW,
        Permission.EVIDENCE_INTAKE,
        Permission.EVIDENCE_DOWNLOAD,
        Permission.EVIDENCE_VERIFY,
        Permission.EVIDENCE_EXPORT,
        Permission.EVIDENCE_TRANSFER,
        Permission.EVIDENCE_TRANSFER_ACCEPT,
        Permission.EVIDENCE_LEGAL_HOLD,
        Permission.EVIDENCE_DISPOSE_REQUEST,
        Permission.EVIDENCE_DISPOSE_APPROVE,
        Permission.CLASSIFICATION_PROPOSE,
        Permission.CLASSIFICATION_APPROVE,
        Permission.BORROW_REQUEST,
        Permission.BORROW_APPROVE,
        Permission.BORROW_RETURN,
        Permission.REGISTER_READ,
        Permission.COPY_DESTROY,
        Permission.DESTRUCTION_PROPOSE,
        Permission.DESTRUCTION_APPROVE,
        Permission.DESTRUCTION_WITNESS,
    }
)
"""Actions on one case: they need ownership or a grant, and clearance."""

BY_PROCEDURE: frozenset[Permission] = frozenset(
    {
        Permission.BORROW_REQUEST,
        Permission.BORROW_APPROVE,
        Permission.BORROW_RETURN,
        Permission.COPY_DESTROY,
        Permission.DESTRUCTION_WITNESS,
    }
)
"""Case-scoped steps whose "who" is the procedure's own rule, not ownership (custody.secrecy):
a borrower asks for a case it cannot see yet, the leader of the *borrower's* department
approves, a named witness confirms. Role and clearance still apply."""

BORROWABLE: Mapping[Permission, GrantPermission] = MappingProxyType(
    {
        Permission.CASE_VIEW: GrantPermission.VIEW,
        Permission.EVIDENCE_VIEW: GrantPermission.VIEW,
        Permission.EVIDENCE_VERIFY: GrantPermission.VIEW,
        Permission.EVIDENCE_DOWNLOAD: GrantPermission.DOWNLOAD,
        Permission.EVIDENCE_EXPORT: GrantPermission.EXPORT,
    }
)
"""On a classified case, what an approved borrowing (借阅) covers; grants give nothing there."""

COPYING: frozenset[Permission] = frozenset(
    {Permission.EVIDENCE_DOWNLOAD, Permission.EVIDENCE_EXPORT}
)
"""Actions that make a copy (复制): on a classified case even the owning department needs an
approved borrowing for them, and each is a numbered copy."""

DISPOSAL_BY_LIST: frozenset[Permission] = frozenset(
    {Permission.EVIDENCE_DISPOSE_REQUEST, Permission.EVIDENCE_DISPOSE_APPROVE}
)
"""The single-item disposal path, closed for classified cases: they are destroyed through a
destruction list (销毁清册) that a leader approves and a named witness confirms."""

GRANT_COVERS: Mapping[Permission, GrantPermission] = MappingProxyType(
    {
        Permission.CASE_VIEW: GrantPermission.VIEW,
        Permission.EVIDENCE_VIEW: GrantPermission.VIEW,
        Permission.EVIDENCE_VERIFY: GrantPermission.VERIFY,
        Permission.EVIDENCE_DOWNLOAD: GrantPermission.DOWNLOAD,
        Permission.EVIDENCE_EXPORT: GrantPermission.EXPORT,
    }
)
"""The grant permission that covers a case-scoped action; absent actions need ownership."""

GRANT_ONLY_ROLES: frozenset[Role] = frozenset({Role.DEFENSE, Role.JUDGE})
"""Roles that reach a case only through a grant, whatever their department string says."""

_READ_CASE = frozenset(
    {
        Permission.CASE_LIST,
        Permission.CASE_VIEW,
        Permission.EVIDENCE_VIEW,
        Permission.EVIDENCE_VERIFY,
        Permission.EVIDENCE_DOWNLOAD,
        Permission.EVIDENCE_EXPORT,
        Permission.LEDGER_CHECKPOINT,
    }
)

_HANDLER = frozenset(
    {
        Permission.CLASSIFICATION_PROPOSE,
        Permission.REGISTER_READ,
        Permission.DESTRUCTION_PROPOSE,
        Permission.DESTRUCTION_WITNESS,
    }
)
"""The case handlers' (承办) part of the procedures: propose, and keep the register."""

_BORROWER = frozenset(
    {
        Permission.BORROW_REQUEST,
        Permission.BORROW_RETURN,
        Permission.BORROW_LIST,
        Permission.COPY_DESTROY,
    }
)
"""Anyone who works with case material may ask to borrow it, return it, and list their own."""

_ANY_ROLE = frozenset({Permission.WHOAMI, Permission.OWN_TOKENS})
"""Every active account may ask who it is and issue further tokens for itself."""

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        # Administrators manage accounts, never evidence; they are the second signature
        # on a disposal and nothing more.
        Role.ADMIN: frozenset(
            {
                Permission.ACCOUNT_MANAGE,
                Permission.GRANT_MANAGE,
                Permission.KEYS_MANAGE,
                Permission.LEDGER_READ,
                Permission.LEDGER_CHECKPOINT,
                Permission.TRANSFER_LIST,
                Permission.EVIDENCE_DISPOSE_APPROVE,
            }
        ),
        Role.TECHNICIAN: frozenset(
            {
                Permission.CASE_CREATE,
                Permission.CASE_LIST,
                Permission.CASE_VIEW,
                Permission.EVIDENCE_VIEW,
                Permission.EVIDENCE_INTAKE,
                Permission.EVIDENCE_VERIFY,
                Permission.EVIDENCE_DOWNLOAD,
                Permission.EVIDENCE_TRANSFER,
                Permission.EVIDENCE_TRANSFER_ACCEPT,
                Permission.EVIDENCE_LEGAL_HOLD,
                Permission.EVIDENCE_DISPOSE_REQUEST,
                Permission.EVIDENCE_EXPORT,
                Permission.LEDGER_CHECKPOINT,
                Permission.TRANSFER_LIST,
            }
        )
        | _HANDLER
        | _BORROWER,
        Role.INVESTIGATOR: frozenset(
            {
                Permission.CASE_CREATE,
                Permission.CASE_LIST,
                Permission.CASE_VIEW,
                Permission.EVIDENCE_VIEW,
                Permission.EVIDENCE_TRANSFER,
                Permission.EVIDENCE_TRANSFER_ACCEPT,
                Permission.LEDGER_CHECKPOINT,
                Permission.TRANSFER_LIST,
            }
        )
        | _HANDLER
        | _BORROWER,
        Role.PROSECUTOR: _READ_CASE
        | _BORROWER
        | {Permission.EVIDENCE_LEGAL_HOLD, Permission.TRANSFER_LIST},
        Role.DEFENSE: _READ_CASE | _BORROWER,
        Role.JUDGE: _READ_CASE | _BORROWER,
        # Leaders (部门负责人) approve: classifications, borrowings, destruction lists. They
        # see their own department's cases; they neither take in nor copy evidence.
        Role.LEADER: frozenset(
            {
                Permission.CASE_LIST,
                Permission.CASE_VIEW,
                Permission.EVIDENCE_VIEW,
                Permission.LEDGER_CHECKPOINT,
                Permission.TRANSFER_LIST,
                Permission.CLASSIFICATION_APPROVE,
                Permission.BORROW_APPROVE,
                Permission.BORROW_RETURN,
                Permission.BORROW_LIST,
                Permission.REGISTER_READ,
                Permission.COPY_DESTROY,
                Permission.DESTRUCTION_APPROVE,
                Permission.DESTRUCTION_WITNESS,
            }
        ),
        # Auditors read the whole ledger (hashes and metadata), never evidence content.
        Role.AUDITOR: frozenset(
            {
                Permission.LEDGER_READ,
                Permission.LEDGER_CHECKPOINT,
                Permission.CASE_LIST,
                Permission.TRANSFER_LIST,
            }
        ),
    }
)
ROLE_PERMISSIONS = MappingProxyType({r: p | _ANY_ROLE for r, p in ROLE_PERMISSIONS.items()})
"""What each role may attempt at all; ownership, grants and clearance narrow it further."""

_PURPOSE_REQUIRED = frozenset({Permission.EVIDENCE_DOWNLOAD, Permission.EVIDENCE_EXPORT})


_E = TypeVar("_E", bound=StrEnum)


def _choose(enum: type[_E], value: str, what: str) -> _E:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return enum(key)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InputError(f"unknown {what} {value!r}; choose one of: {choices}") from None


def parse_level(value: str) -> Level:
    """Parse a clearance or classification from a user ("secret", "top-secret", "绝密")."""
    alias = _LEVEL_ALIASES.get(value.strip())
    if alias is not None:
        return alias
    try:
        return _choose(Level, value, "level")
    except InputError as e:
        raise InputError(f"{e.message} (or 公开, 内部, 秘密, 机密, 绝密)") from None


def parse_role(value: str) -> Role:
    """Parse a role name from a user, raising InputError that lists the choices."""
    return _choose(Role, value, "role")


def parse_grant_permission(value: str) -> GrantPermission:
    """Parse a grant permission from a user, raising InputError that lists the choices."""
    return _choose(GrantPermission, value, "grant permission")


def _require_aware(value: datetime, what: str) -> None:
    # Naive and aware datetimes cannot be compared; fail at the boundary, not mid-decision.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The authenticated account asking: its name, role, department and clearance."""

    account: str
    role: Role
    department: str
    clearance: Level
    active: bool

    def __post_init__(self) -> None:
        # Accept the plain strings a database row holds, but never an unknown value.
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "clearance", Level(self.clearance))


@dataclass(frozen=True, kw_only=True)
class CaseScope:
    """The case an action concerns: its number, owning department and classification."""

    number: str
    department: str
    classification: Level

    def __post_init__(self) -> None:
        object.__setattr__(self, "classification", Level(self.classification))


@dataclass(frozen=True, kw_only=True)
class Grant:
    """One case opened to one account (a defence lawyer, a court, another office)."""

    case: str
    account: str
    permissions: frozenset[GrantPermission]
    granted_by: str
    expires_at: datetime | None = None
    revoked: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "permissions", frozenset(GrantPermission(p) for p in self.permissions)
        )
        if self.expires_at is not None:
            _require_aware(self.expires_at, "Grant.expires_at")

    def is_live(self, now: datetime) -> bool:
        """Not revoked and not expired; a grant expiring exactly at ``now`` is over."""
        return not self.revoked and (self.expires_at is None or self.expires_at > now)

    def covers(self, permission: GrantPermission) -> bool:
        """Whether the grant names ``permission``; every grant implies ``view``."""
        return permission is GrantPermission.VIEW or permission in self.permissions


@dataclass(frozen=True, kw_only=True)
class Borrowing:
    """A borrowing (借阅) of a classified case as approved on the ledger (custody.secrecy).

    Only fully approved borrowings are passed to :func:`decide`; ``items`` None means all
    items. Access exists only in ``[starts_at, ends_at)`` and ends early at ``ended_at``
    (returned). Every borrowing implies ``view`` (which on a classified case includes
    verifying: a verification reveals digests, not content).
    """

    id: str
    case: str
    account: str
    items: frozenset[str] | None
    permissions: frozenset[GrantPermission]
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "permissions", frozenset(GrantPermission(p) for p in self.permissions)
        )
        for name in ("starts_at", "ends_at", "ended_at"):
            value = getattr(self, name)
            if value is not None:
                _require_aware(value, f"Borrowing.{name}")

    def is_live(self, now: datetime) -> bool:
        """Within the approved window and not returned; the end itself is outside it."""
        if self.ended_at is not None and self.ended_at <= now:
            return False
        return self.starts_at <= now < self.ends_at

    def covers(self, permission: GrantPermission, evidence: str | None) -> bool:
        """Whether the borrowing names the permission for this item (or the whole case)."""
        if permission is not GrantPermission.VIEW and permission not in self.permissions:
            return False
        if self.items is None:
            return True
        if permission is GrantPermission.EXPORT:
            return False  # an export copies the whole case: only an all-items borrowing
        return evidence is None or evidence in self.items


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The outcome of :func:`decide`, with a reason fit for the ledger.

    ``grant`` is the grant that allowed the action, if one did, so the borrowing register
    can name it.
    """

    allowed: bool
    action: Permission
    reason: str
    hide_existence: bool = False
    case: str | None = None
    grant: Grant | None = None

    @property
    def public_reason(self) -> str:
        """What to tell the caller: a plain not-found when the case must stay hidden."""
        if self.hide_existence:
            return f"case {self.case} not found"
        return self.reason


def _allowed_roles(action: Permission) -> str:
    roles = [role.value for role in Role if action in ROLE_PERMISSIONS[role]]
    return ", ".join(roles) if roles else "none"


def _grant_note(mine: list[Grant], live: list[Grant], now: datetime) -> str:
    """Say why the account's own grants for this case did not help."""
    if live:
        named = sorted({p.value for g in live for p in g.permissions} | {"view"})
        return f" (its live grant covers only {', '.join(named)})"
    notes = []
    for g in mine:
        if g.revoked:
            notes.append(f"the grant by {g.granted_by!r} was revoked")
        elif g.expires_at is not None and g.expires_at <= now:
            notes.append(f"the grant by {g.granted_by!r} expired at {g.expires_at.isoformat()}")
    return f" ({'; '.join(notes)})" if notes else ""


def _classified_scope(
    principal: Principal, action: Permission, req: _Request, now: datetime
) -> tuple[bool, str] | None:
    """Condition 3 on a classified case, where grants give nothing; None: not decided here."""
    case = req.case
    level = case.classification
    if action in DISPOSAL_BY_LIST:
        return (
            False,
            f"case {case.number} is classified ({level.value}): its items are destroyed "
            "through a destruction list (销毁清册) that the owning department's leader "
            "approves and a named witness confirms; propose one (custody destroy propose)",
        )
    needed = BORROWABLE.get(action)
    if needed is None:
        return None
    owner = principal.role not in GRANT_ONLY_ROLES and principal.department == case.department
    if owner and action not in COPYING:
        return True, f"department {principal.department!r} owns classified case {case.number}"
    for b in req.borrowings:
        if (
            b.account == principal.account
            and b.case == case.number
            and b.is_live(now)
            and b.covers(needed, req.evidence)
        ):
            return True, f"borrowing {b.id} (approved, until {b.ends_at.isoformat()}) covers it"
    approvers = "your department's leader"
    if level >= Level.CONFIDENTIAL:
        approvers += " and the owning department's leader"
    what = f"{needed.value!r}" + (f" of item {req.evidence}" if req.evidence else "")
    head = "copying it" if owner else "access"
    return (
        False,
        f"case {case.number} is classified ({level.value}): {head} needs a live borrowing "
        f"(借阅) approved by {approvers} that covers {what}; grants do not count here. "
        "Request one: custody borrow request",
    )


@dataclass(frozen=True)
class _Request:
    case: CaseScope
    grants: tuple[Grant, ...]
    borrowings: tuple[Borrowing, ...]
    evidence: str | None


def _scope(
    principal: Principal, action: Permission, req: _Request, now: datetime
) -> tuple[bool, str, Grant | None]:
    """Condition 3: ownership or a covering live grant. Returns (ok, reason, grant used)."""
    case, grants = req.case, req.grants
    if action in BY_PROCEDURE:
        return True, f"the procedure decides who may {action.value}", None
    if case.classification.classified:
        classified = _classified_scope(principal, action, req, now)
        if classified is not None:
            return classified[0], classified[1], None
    if principal.role is Role.ADMIN and action is Permission.EVIDENCE_DISPOSE_APPROVE:
        return True, "administrators approve disposals across departments", None
    grant_only = principal.role in GRANT_ONLY_ROLES
    if not grant_only and principal.department == case.department:
        return True, f"department {principal.department!r} owns case {case.number}", None
    needed = GRANT_COVERS.get(action)
    mine = [g for g in grants if g.account == principal.account and g.case == case.number]
    live = [g for g in mine if g.is_live(now)]
    if needed is not None:
        for g in live:
            if g.covers(needed):
                return True, f"live grant by {g.granted_by!r} covers {needed.value!r}", g
    if grant_only:
        head = f"role {principal.role.value} reaches cases only through a grant"
    else:
        head = f"account's department {principal.department!r} does not own case {case.number}"
    if needed is None:
        return (
            False,
            f"{head}, and {action.value} needs department ownership (no grant can cover it); "
            f"ask case {case.number}'s department to do it",
            None,
        )
    return (
        False,
        f"{head} and no live grant covers {needed.value!r}{_grant_note(mine, live, now)}; "
        f"ask case {case.number}'s department for a grant of {needed.value!r}",
        None,
    )


def _evaluate(
    principal: Principal,
    action: Permission,
    req: _Request | None,
    now: datetime,
) -> tuple[bool, str, Grant | None]:
    """All conditions in order; the reason names the first that failed."""
    if not principal.active:
        return (
            False,
            f"account {principal.account!r} is inactive; ask an administrator to reactivate it",
            None,
        )
    if action not in ROLE_PERMISSIONS[principal.role]:
        return (
            False,
            f"role {principal.role.value} may not {action.value} "
            f"(roles that may: {_allowed_roles(action)})",
            None,
        )
    if req is None:
        return True, f"role {principal.role.value} may {action.value}", None
    case = req.case
    ok, reason, grant = _scope(principal, action, req, now)
    if not ok:
        return False, reason, None
    if principal.clearance < case.classification:
        return (
            False,
            f"clearance {principal.clearance.value} is below the case's classification "
            f"{case.classification.value}; an account cleared for "
            f"{case.classification.value} must do this",
            None,
        )
    return True, f"role {principal.role.value} may {action.value}: {reason}", grant


def grant_refusal(*, granter: str, grantee: Principal) -> str | None:
    """Why a case grant to ``grantee`` must not be made, or None.

    Administrators manage accounts and never evidence, so a grant to any administrator
    account (the granter's own included) is refused; so is any grant to oneself, and a grant
    to a deactivated account, which could never be used.
    """
    if grantee.account == granter:
        return "no account may grant case permissions to itself"
    if grantee.role is Role.ADMIN:
        return (
            "administrator accounts never hold case permissions (administrators manage "
            "accounts, never evidence)"
        )
    if not grantee.active:
        return f"account {grantee.account} is deactivated"
    return None


def decide(
    *,
    principal: Principal,
    action: Permission,
    case: CaseScope | None,
    grants: Iterable[Grant] = (),
    borrowings: Iterable[Borrowing] = (),
    evidence: str | None = None,
    now: datetime,
) -> Decision:
    """Decide one request; see the module docstring for the conditions and the 404 rule.

    ``grants`` may hold grants of other accounts and cases; only this account's grants for
    this case count. ``borrowings`` (approved ones) and ``evidence`` (the item concerned)
    matter only on classified cases. A case-scoped action without a case is a programming
    error (ValueError); an action that is not case-scoped ignores ``case``.
    """
    action = Permission(action)
    _require_aware(now, "now")
    if action not in CASE_SCOPED:
        case = None
    elif case is None:
        raise ValueError(f"{action.value} is case-scoped: decide() needs the case")
    req = (
        _Request(case=case, grants=tuple(grants), borrowings=tuple(borrowings), evidence=evidence)
        if case is not None
        else None
    )
    allowed, reason, grant = _evaluate(principal, action, req, now)
    view_req = replace(req, evidence=None) if req is not None else None
    hide = (
        not allowed
        and view_req is not None
        and not _evaluate(principal, Permission.CASE_VIEW, view_req, now)[0]
    )
    return Decision(
        allowed=allowed,
        action=action,
        reason=reason,
        hide_existence=hide,
        case=case.number if case is not None else None,
        grant=grant,
    )


def can_view_case(
    principal: Principal,
    case: CaseScope,
    grants: Iterable[Grant],
    now: datetime,
    borrowings: Iterable[Borrowing] = (),
) -> bool:
    """Whether the case may appear to this account at all (the filter for case listings)."""
    decision = decide(
        principal=principal,
        action=Permission.CASE_VIEW,
        case=case,
        grants=grants,
        borrowings=borrowings,
        now=now,
    )
    return decision.allowed


def purpose_required(action: Permission) -> bool:
    """True where the borrowing register needs a stated purpose: downloads and exports."""
    return Permission(action) in _PURPOSE_REQUIRED


_SEE_EVERY_TRANSFER = frozenset({Role.ADMIN, Role.AUDITOR})


def sees_every_transfer(principal: Principal) -> bool:
    """Administrators and auditors oversee every pending transfer, not only their own cases."""
    return principal.role in _SEE_EVERY_TRANSFER
