"""``python -m custody.witness init|serve``: the witness on the base install (no Typer).

The same witness as ``custody witness``, for a court that installs only the verifier.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    from custody.errors import CustodyError
    from custody.offline import load_trusted_key
    from custody.witness.server import serve
    from custody.witness.state import init_witness

    parser = argparse.ArgumentParser(prog="python -m custody.witness")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("init", help="make the witness key and print its verifier key")
    p.add_argument("--name", required=True)
    p.add_argument("--dir", required=True, type=Path)
    p = commands.add_parser("serve", help="serve POST /add-checkpoint (C2SP tlog-witness)")
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--log-key", required=True, action="append", metavar="KEY")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8800)
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            print(init_witness(args.dir, args.name).verifier().to_text())
            return 0
        keys = [load_trusted_key(k, option="--log-key") for k in args.log_key]

        def announce(url: str, key: str) -> None:
            print(f"witness {key} serving on {url}", flush=True)

        serve(args.dir, keys, args.host, args.port, announce)
    except CustodyError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
