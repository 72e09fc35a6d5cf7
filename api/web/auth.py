"""Who is asking, for pages: the session cookie, and the same policy guard as the API.

Every page route declares exactly one guard, as every API route does (a test checks
both): :func:`page_guard` names the policy action, decided exactly as
:class:`api.deps.Guard` decides it; :func:`public_page` marks the few pages that need no
account (sign-in, the language switch) so that leaving a guard out is never silent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from api.authz import authorize
from api.deps import ContextDep, Guard
from api.web import sessions
from custody import policy
from custody.models import Account


def web_account(request: Request, ctx: ContextDep) -> Account:
    """The account of the request's session cookie (a bearer token is not used by pages).

    Without a live session it raises AuthenticationRequired, which the pages' route class
    turns into a redirect to the sign-in page.
    """
    with ctx.session() as db:
        return sessions.account_of(db, request.cookies.get(sessions.COOKIE))


WebAccountDep = Annotated[Account, Depends(web_account)]


class PageGuard(Guard):
    """:class:`api.deps.Guard` for pages: the account comes from the session cookie."""

    def __call__(self, ctx: ContextDep, account: WebAccountDep) -> Account:
        if not self.action.case_scoped:
            with ctx.session() as session:
                authorize(session, account, self.action)
        return account


class PublicPage(Guard):
    """Declares, explicitly, that a page needs no account (sign-in, language switch)."""

    def __init__(self) -> None:
        """No policy action: nothing is read or changed on behalf of an account."""

    def __call__(self) -> None:  # type: ignore[override]
        return None


def page_guard(action: policy.Permission) -> Any:
    return Depends(PageGuard(action))


def public_page() -> Any:
    return Depends(PublicPage())


def may(account: Account, action: policy.Permission) -> bool:
    """Whether the role permits ``action`` at all: decides which buttons a page offers.

    It records nothing and grants nothing; the action itself is decided (and a refusal
    recorded) when it is attempted.
    """
    return action in policy.ROLE_PERMISSIONS[policy.parse_role(account.role)]
