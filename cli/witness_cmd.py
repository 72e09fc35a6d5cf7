"""``custody witness init|serve``: run a C2SP tlog-witness for someone else's log.

The witness is :mod:`custody.witness` (offline core plus the standard library's HTTP
server); these commands only parse options and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import JsonOpt, emit_json, out
from custody.errors import InputError
from custody.offline import load_trusted_key

app = typer.Typer(help="Witness another party's log: cosign only what extends what you saw.")


@app.command("init")
def init(
    name: Annotated[str, typer.Option(help="The witness's name, e.g. court.example/witness.")],
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the key and the state.")],
    json_output: JsonOpt = False,
) -> None:
    """Make the witness key (mode 0600) and print its verifier key (cosignature/v1)."""
    from custody.witness.state import init_witness

    key = init_witness(directory, name)
    vkey = key.verifier().to_text()
    if json_output:
        emit_json({"name": name, "dir": str(directory), "witness_key": vkey})
    else:
        out.print(vkey, markup=False)


@app.command("serve")
def serve(
    directory: Annotated[Path, typer.Option("--dir", help="The folder `witness init` made.")],
    log_key: Annotated[
        list[str],
        typer.Option(
            "--log-key",
            help="A log's verifier key (name+keyid+key, or a file); repeat for several logs "
            "or for a log's rotated key.",
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8800,
    json_output: JsonOpt = False,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) until interrupted."""
    from custody.witness.server import serve as serve_witness

    if not log_key:
        raise InputError("give at least one --log-key")
    keys = [load_trusted_key(k, option="--log-key") for k in log_key]

    def announce(url: str, key: str) -> None:
        if json_output:
            emit_json({"url": url, "witness_key": key})
        else:
            out.print(f"witness {key} serving on {url}", markup=False)
        out.file.flush()

    serve_witness(directory, keys, host, port, announce)
