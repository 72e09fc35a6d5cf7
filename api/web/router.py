"""All pages of the web interface, under ``/`` beside the API's ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.pages import bundles, cases, evidence, ledger, signin

router = APIRouter(include_in_schema=False)
for pages in (signin, cases, evidence, ledger, bundles):
    router.include_router(pages.router)
