"""The web interface: server-rendered pages for technicians, prosecutors, lawyers and courts.

Pages call the same services, authorization and ledger recording as the JSON API (often
the API's own route functions), so a page view is the same ledger entry as an API read.
Nothing here is imported by :mod:`api.deps` but :mod:`api.web.sessions`, so importing the
package stays cheap and free of cycles; :func:`mount` wires the pages into an app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the pages (under ``/``) and the packaged static assets (under ``/static``)."""
    from api.web.router import router
    from api.web.static import static_files

    app.include_router(router)
    app.mount("/static", static_files(), name="web-static")
