""" "Check a bundle": a court uploads a bundle zip and sees every check, OK or FAIL, and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from api.deps import ContextDep
from api.problems import status_for
from api.web.auth import WebAccountDep, page_guard
from api.web.forms import CsrfForm, text
from api.web.route import WebRoute
from api.web.services import bundle_check, export_zip, safe_zip
from api.web.templating import page
from custody import policy
from custody.errors import CustodyError, InputError
from custody.models import Account

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _page(
    request: Request,
    account: Account,
    *,
    result: bundle_check.CheckedBundle | None = None,
    error: str | None = None,
    key_text: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "check.html",
        account=account,
        status_code=status_code,
        result=result,
        error=error,
        key_text=key_text,
        limit=f"{bundle_check.MAX_ZIP_BYTES // 1024**3} GiB",
    )


@router.get("/check", dependencies=[page_guard(policy.Permission.WHOAMI)])
def check_form(request: Request, account: WebAccountDep) -> Response:
    return _page(request, account)


@router.post("/check", dependencies=[page_guard(policy.Permission.WHOAMI)])
def check_bundle(
    request: Request,
    ctx: ContextDep,
    account: WebAccountDep,
    form: Annotated[FormData, Depends(CsrfForm(max_bytes=bundle_check.MAX_ZIP_BYTES, max_files=1))],
) -> Response:
    """Unpack safely, then run the pure verifier (``custody-verify verify-bundle``).

    Nothing is recorded: no evidence is read, only the bytes the user brought.
    """
    key_text = text(form, "trusted_key", limit=2000)
    upload = form.get("bundle")
    work = export_zip.work_dir(ctx)
    try:
        if not isinstance(upload, UploadFile):
            raise InputError("choose the bundle's zip file")
        result = bundle_check.check_zip(upload.file, key_text, work)
    except CustodyError as e:
        return _page(
            request, account, error=e.message, key_text=key_text, status_code=status_for(e)
        )
    finally:
        safe_zip.remove(work)
    return _page(request, account, result=result, key_text=key_text)
