"""``custody ledger checkpoint|verify|consistency``: check the log without trusting the server."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated

import typer

from cli.client import ApiClient
from cli.errors import CliError, ExitCode
from cli.output import JsonOpt, boundary, emit_json, err, out
from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.errors import LedgerIntegrityError, ProofError
from custody.log_audit import audit_log, check_consistency

app = typer.Typer(help="The custody ledger.", no_args_is_help=True)

PAGE = 1000
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--trusted-key",
        help="Verifier key (name+id+key) or a file holding it. Without it the server's key "
        "is fetched and trusted on first use.",
    ),
]


def load_key(value: str) -> VerifierKey:
    path = Path(value)
    text = path.read_text() if path.exists() else value
    return VerifierKey.from_text(text.strip())


def _key(api: ApiClient, trusted: str | None) -> VerifierKey:
    if trusted:
        return load_key(trusted)
    err.print(
        "warning: no --trusted-key given; trusting the key the server presents "
        "(pin it with --trusted-key for a real audit)"
    )
    return VerifierKey.from_text(api.get("/api/v1/ledger/key").text.strip())


def read_checkpoint(path: Path, key: VerifierKey) -> Checkpoint:
    return open_checkpoint(path.read_text(), [key])


@app.command("checkpoint")
@boundary
def checkpoint(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the note here.")] = None,
    trusted_key: KeyOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Fetch the latest signed checkpoint (C2SP signed note) and check its signature."""
    with ApiClient() as api:
        key = _key(api, trusted_key)
        note = api.get("/api/v1/ledger/checkpoint").text
    cp = open_checkpoint(note, [key])
    if out_file:
        out_file.write_text(note)
    if json_output:
        emit_json(
            {
                "origin": cp.origin,
                "size": cp.size,
                "root": base64.b64encode(cp.root).decode(),
                "note": note,
            }
        )
    elif not out_file:
        out.print(note, end="", markup=False)
    else:
        out.print(f"OK: checkpoint at size {cp.size} written to {out_file}", markup=False)


@app.command("verify")
@boundary
def verify(
    checkpoint_file: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="An earlier checkpoint the ledger must extend."),
    ] = None,
    trusted_key: KeyOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Download every entry and check hashes, links, the signed root and consistency."""
    with ApiClient() as api:
        key = _key(api, trusted_key)
        cp = open_checkpoint(api.get("/api/v1/ledger/checkpoint").text, [key])
        earlier = read_checkpoint(checkpoint_file, key) if checkpoint_file else None
        entries: list[tuple[int, bytes]] = []
        while len(entries) < cp.size:
            page = api.get(
                "/api/v1/ledger/entries",
                params={"start": len(entries), "end": min(cp.size, len(entries) + PAGE)},
            ).json()
            if not page:
                break
            entries.extend((e["seq"], base64.b64decode(e["canonical"])) for e in page)
            if page[-1]["seq"] >= cp.size - 1:
                break

        def probe(m: int) -> list[bytes]:
            proof = api.get(
                "/api/v1/ledger/proofs/consistency", params={"first": m, "second": cp.size}
            ).json()
            return [base64.b64decode(h) for h in proof["hashes"]]

        try:
            result = audit_log(entries, cp, earlier=earlier, probe=probe)
        except LedgerIntegrityError as e:
            if json_output:
                emit_json({"ok": False, "first_bad_seq": e.seq, "error": e.message})
            else:
                out.print(f"FAIL: first bad seq {e.seq}: {e.message}", markup=False)
            raise typer.Exit(int(ExitCode.INTEGRITY)) from None
    summary = {
        "ok": True,
        "origin": cp.origin,
        "size": result.size,
        "root": base64.b64encode(result.root).decode(),
        "consistent_with": earlier.size if earlier else None,
    }
    if json_output:
        emit_json(summary)
    else:
        out.print(f"OK: {result.size} entries: every hash and prev link checks", markup=False)
        out.print(f"OK: root matches the checkpoint signed by {key.name}", markup=False)
        if earlier:
            out.print(f"OK: the ledger extends the checkpoint at size {earlier.size}", markup=False)


@app.command("consistency")
@boundary
def consistency(
    old: Annotated[Path, typer.Argument(exists=True, help="The earlier checkpoint note.")],
    new: Annotated[Path, typer.Argument(exists=True, help="The later checkpoint note.")],
    trusted_key: KeyOpt = None,
    proof_file: Annotated[
        Path | None,
        typer.Option("--proof", help="Consistency proof JSON (offline); else asked of the server."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Prove the ledger only grew between two checkpoints (e.g. from two court bundles)."""
    import json

    from custody.merkle import parse_consistency_proof

    if trusted_key is None:
        raise CliError(
            "--trusted-key is required: a consistency proof is only as good as the key",
            ExitCode.USAGE,
        )
    key = load_key(trusted_key)
    old_cp = read_checkpoint(old, key)
    new_cp = read_checkpoint(new, key)
    hashes: list[bytes] = []
    if 0 < old_cp.size < new_cp.size:
        if proof_file is not None:
            parsed = parse_consistency_proof(json.loads(proof_file.read_text()))
            if (parsed.first, parsed.second) != (old_cp.size, new_cp.size):
                raise ProofError(
                    f"the proof is for sizes {parsed.first}->{parsed.second}, not "
                    f"{old_cp.size}->{new_cp.size}"
                )
            hashes = list(parsed.hashes)
        else:
            with ApiClient() as api:
                proof = api.get(
                    "/api/v1/ledger/proofs/consistency",
                    params={"first": old_cp.size, "second": new_cp.size},
                ).json()
            hashes = [base64.b64decode(h) for h in proof["hashes"]]
    check_consistency(old_cp, new_cp, hashes)
    result = {"ok": True, "first": old_cp.size, "second": new_cp.size}
    if json_output:
        emit_json(result)
    else:
        out.print(
            f"OK: the ledger at size {new_cp.size} extends the one at size {old_cp.size}",
            markup=False,
        )
