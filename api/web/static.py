"""Static assets shipped inside the package (CSS, our JS, vendored hash-wasm with its licence).

Nothing is fetched at run time; ``scripts/refresh-web-assets.sh`` pins and refreshes the
vendored files from npm.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.web.headers import secure

STATIC_DIR = Path(__file__).with_name("static")


class _SecureStatic(StaticFiles):
    """StaticFiles with the same security headers as the pages (nosniff above all)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        secure(response)
        return response


def static_files() -> StaticFiles:
    return _SecureStatic(directory=STATIC_DIR)
