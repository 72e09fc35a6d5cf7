"""``custody ledger checkpoint|verify|consistency``: check the log without trusting the server."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated

import typer

from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, err, out, print_lines
from custody import verdicts
from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.errors import InputError, LedgerIntegrityError
from custody.log_audit import audit_log
from custody.offline import (
    load_trusted_key,
    proof_from_json,
    prove_consistency,
    read_checkpoint,
    split_view,
)
from custody.verdicts import ExitCode

app = typer.Typer(help="The custody ledger.", no_args_is_help=True)

PAGE = 1000
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--trusted-key",
        help="Verifier key (name+id+key) or a file holding it; obtain it independently of "
        "the server (the lab's published key).",
    ),
]
UnsafeOpt = Annotated[
    bool,
    typer.Option(
        "--trust-server-key-unsafe",
        help="UNSAFE: trust whatever key the server presents instead of --trusted-key. A "
        "server that rewrote its history would present the key it signs with; this proves "
        "nothing against it.",
    ),
]


def _key(api: ApiClient, trusted: str | None, trust_server_key_unsafe: bool) -> VerifierKey:
    """The key checkpoints must be signed by: pinned, or the server's only when asked for."""
    if trusted and trust_server_key_unsafe:
        raise InputError("give either --trusted-key or --trust-server-key-unsafe, not both")
    if trusted:
        return load_trusted_key(trusted)
    if not trust_server_key_unsafe:
        raise InputError(
            "--trusted-key is required: pass the lab's verifier key (name+keyid+key, or a file "
            "holding it), obtained independently of this server; or, knowing that it proves "
            "nothing against the server, --trust-server-key-unsafe"
        )
    key = VerifierKey.from_text(api.get("/api/v1/ledger/key").text.strip())
    err.print(
        f"UNSAFE: trusting the key the server presents ({key.name}+{key.key_id.hex()}); "
        "pin it with --trusted-key for a real audit",
        markup=False,
    )
    return key


@app.command("checkpoint")
def checkpoint(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the note here.")] = None,
    trusted_key: KeyOpt = None,
    trust_server_key_unsafe: UnsafeOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Fetch the latest signed checkpoint (C2SP signed note) and check its signature."""
    with ApiClient() as api:
        key = _key(api, trusted_key, trust_server_key_unsafe)
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
def verify(
    checkpoint_file: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="An earlier checkpoint the ledger must extend."),
    ] = None,
    trusted_key: KeyOpt = None,
    trust_server_key_unsafe: UnsafeOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Download every entry and check hashes, links, the signed root and consistency."""
    with ApiClient() as api:
        key = _key(api, trusted_key, trust_server_key_unsafe)
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
    if trusted_key is None:
        raise InputError(
            "--trusted-key is required: a consistency proof is only as good as the key"
        )
    key = load_trusted_key(trusted_key)

    def from_server(old_cp: Checkpoint, new_cp: Checkpoint) -> list[bytes]:
        with ApiClient() as api:
            proof = api.get(
                "/api/v1/ledger/proofs/consistency",
                params={"first": old_cp.size, "second": new_cp.size},
            ).json()
        return [base64.b64decode(h) for h in proof["hashes"]]

    proof = proof_from_json(proof_file.read_text(encoding="utf-8")) if proof_file else from_server
    result = prove_consistency(
        old.read_text(encoding="utf-8"), new.read_text(encoding="utf-8"), key=key, proof=proof
    )
    if json_output:
        emit_json(verdicts.consistency_json(result))
    else:
        print_lines(verdicts.consistency_lines(result))


@app.command("split-view")
def split_view_command(
    first: Annotated[Path, typer.Argument(exists=True, help="A signed checkpoint note.")],
    second: Annotated[Path, typer.Argument(exists=True, help="Another one.")],
    trusted_key: KeyOpt = None,
    proof_file: Annotated[
        Path | None,
        typer.Option("--proof", help="Consistency proof JSON, when the sizes differ."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Two roots signed for one size is a split view: print the proof and exit 1."""
    if trusted_key is None:
        raise InputError("--trusted-key is required: the proof is only as good as the key")
    key = load_trusted_key(trusted_key)
    proof = proof_from_json(proof_file.read_text(encoding="utf-8")) if proof_file else None
    result = split_view(
        first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8"), key=key, proof=proof
    )
    if json_output:
        emit_json(verdicts.split_view_json(result))
    else:
        print_lines(verdicts.split_view_lines(result))
    code = verdicts.split_view_exit_code(result)
    if code:
        raise typer.Exit(int(code))


@app.command("rotate-key")
def rotate_key(
    reason: Annotated[str, typer.Option(help="Why the key is rotated (recorded).")],
    json_output: JsonOpt = False,
) -> None:
    """Rotate the ledger's signing key (administrators): the old key signs the new one in."""
    with ApiClient() as api:
        done = api.post("/api/v1/ledger/key/rotations", json={"reason": reason}).json()
    if json_output:
        emit_json(done)
    else:
        out.print(
            f"OK: at entry {done['seq']} the key {done['old_key']} rotated to {done['new_key']}",
            markup=False,
        )
        out.print(
            "Old checkpoints keep verifying under the old key; verify-bundle --trusted-key OLD "
            "follows the rotation. Give witnesses the new key (--log-key).",
            markup=False,
        )
