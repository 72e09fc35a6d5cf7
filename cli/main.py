"""The ``custody`` entry point: the full CLI, or a clear message on the verifier-only install.

The base install (``pip install evidence-custody``) is the court's offline verifier and has
no Typer, FastAPI or database libraries; the app itself lives in :mod:`cli.app`, imported
here only when the command runs.
"""

from __future__ import annotations

import sys

SERVER_EXTRA_MISSING = (
    "the full `custody` CLI needs `pip install 'evidence-custody[server]'`; "
    "the offline verifier is `custody-verify`"
)
_OWN_PACKAGES = frozenset({"api", "cli", "custody", "storage"})


OFFLINE_FAST_PATH = frozenset({"hash"})
"""Commands served by the argparse verifier, so they start without Typer, httpx or rich."""


def main() -> None:
    """Run ``custody``; exit 2 with :data:`SERVER_EXTRA_MISSING` if the extra is absent.

    ``custody hash`` goes straight to :mod:`custody.__main__` (same checks, same lines and
    JSON from :mod:`custody.verdicts`): importing the whole Typer app costs ~0.5 s of
    start-up, more than hashing a small file (issue 15).
    """
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_FAST_PATH:
        from custody.__main__ import main as offline_main

        raise SystemExit(offline_main(sys.argv[1:]))
    try:
        from cli.app import app
    except ImportError as e:
        missing = (e.name or "").partition(".")[0]
        if missing in _OWN_PACKAGES:
            raise  # a broken checkout, not a missing extra
        print(f"error: {SERVER_EXTRA_MISSING} (missing: {missing or e})", file=sys.stderr)
        raise SystemExit(2) from None
    app()


def __getattr__(name: str) -> object:
    """``from cli.main import app`` keeps working: the app moved to :mod:`cli.app`."""
    if name == "app":
        from cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
