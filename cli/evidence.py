"""``custody intake`` and ``custody evidence list|show|download|custody``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import blake3
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from cli import resumable
from cli.client import ApiClient
from cli.output import JsonOpt, emit_json, err, out
from cli.preflight import case_path, check_intake
from custody.digests import CHUNK_SIZE, MultiHasher, normalize_declared, parse_algorithms
from custody.errors import InputError, VerificationError
from custody.images.segments import is_first_segment_name, siblings
from custody.verdicts import ExitCode

evidence_app = typer.Typer(help="Evidence items.", no_args_is_help=True)


def progress_bar(disable: bool) -> Progress:
    """A progress bar with throughput, on stderr so --json output stays clean."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=disable,
        transient=True,
    )


def _hashing_body(
    path: Path, hasher: MultiHasher, progress: Progress, task: Any
) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            hasher.update(chunk)
            progress.update(task, advance=len(chunk))
            yield chunk


def intake_one(
    api: ApiClient,
    path: Path,
    metadata: dict[str, Any],
    algorithms: tuple[str, ...],
    progress: Progress,
) -> dict[str, Any]:
    size = path.stat().st_size
    task = progress.add_task(path.name, total=size)
    with MultiHasher(algorithms) as hasher:
        evidence: dict[str, Any] = api.upload(
            "/api/v1/evidence",
            _hashing_body(path, hasher, progress, task),
            params={"metadata": json.dumps(metadata, ensure_ascii=False)},
            size=size,
        ).json()
        local = hasher.hexdigests()
    progress.remove_task(task)
    differences = [
        {"algorithm": a, "local": v, "server": evidence["digests"].get(a)}
        for a, v in local.items()
        if evidence["digests"].get(a) != v
    ]
    if hasher.size != evidence["size"]:
        differences.append({"algorithm": "size", "local": hasher.size, "server": evidence["size"]})
    evidence["local_digests"] = local
    evidence["differences"] = differences
    return evidence


def intake_resumable(
    api: ApiClient,
    path: Path,
    metadata: dict[str, Any],
    algorithms: tuple[str, ...],
    progress: Progress,
    policy: resumable.RetryPolicy,
) -> dict[str, Any]:
    """One file over tus: resumes after a dropped connection or a server restart."""
    size = path.stat().st_size
    task = progress.add_task(path.name, total=size)
    evidence = resumable.intake_resumable(
        api,
        path,
        metadata,
        algorithms,
        policy=policy,
        at=lambda n: progress.update(task, completed=n),
        say=lambda text: err.print(f"{path.name}: {text}", markup=False),
    )
    progress.remove_task(task)
    local = evidence["local_digests"]
    differences = [
        {"algorithm": a, "local": v, "server": evidence["digests"].get(a)}
        for a, v in local.items()
        if evidence["digests"].get(a) != v
    ]
    if evidence.pop("local_size") != evidence["size"]:
        differences.append({"algorithm": "size", "local": size, "server": evidence["size"]})
    evidence["differences"] = differences
    return evidence


def image_set(path: Path) -> list[Path]:
    """The segments of the acquisition ``path`` starts (img.E01, disk.001), in order; just
    ``[path]`` when it starts none or has no siblings. A gap in the set is refused."""
    if not is_first_segment_name(path.name):
        return [path]
    names = [p.name for p in path.parent.iterdir() if p.is_file()]
    return [path.parent / name for name in siblings(path.name, names)]


def intake_set(
    api: ApiClient,
    parts: list[Path],
    metadata: dict[str, Any],
    algorithms: tuple[str, ...],
    progress: Progress,
) -> dict[str, Any]:
    """One acquisition in several files: a multi-part session, each part checked as it goes."""
    opened = api.post("/api/v1/intake-sessions", json=metadata).json()
    path = f"/api/v1/intake-sessions/{opened['id']}"
    differences: list[dict[str, Any]] = []
    local_parts = []
    for index, part in enumerate(parts, start=1):
        size = part.stat().st_size
        task = progress.add_task(part.name, total=size)
        with MultiHasher(algorithms) as hasher:
            answer = api.upload(
                f"{path}/parts/{index}",
                _hashing_body(part, hasher, progress, task),
                params={"name": part.name},
                size=size,
                method="PUT",
            ).json()
            local = hasher.hexdigests()
        progress.remove_task(task)
        local_parts.append(local)
        differences.extend(
            {"algorithm": f"{part.name} {a}", "local": v, "server": answer["digests"].get(a)}
            for a, v in local.items()
            if answer["digests"].get(a) != v
        )
    if differences:
        api.delete(path)
        raise VerificationError(
            "a part arrived with other digests than it has here: "
            + "; ".join(f"{d['algorithm']} local {d['local']}" for d in differences)
        )
    evidence: dict[str, Any] = api.post(f"{path}/complete").json()
    evidence["local_digests"] = {"parts": local_parts}
    evidence["differences"] = []
    return evidence


def prehash_blake3(path: Path) -> str:
    """BLAKE3 of a file using every core (memory-mapped); fast enough to read twice."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(str(path))
    return str(hasher.hexdigest())


def register(app: typer.Typer) -> None:
    app.command("intake")(intake)
    evidence_app.command("list")(list_evidence)
    evidence_app.command("show")(show)
    evidence_app.command("download")(download)
    evidence_app.command("custody")(custody)


def intake(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    case: Annotated[str, typer.Option(help="Case number.")],
    sha256: Annotated[str | None, typer.Option(help="SHA-256 printed by the imager.")] = None,
    md5: Annotated[str | None, typer.Option(help="MD5 printed by the imager.")] = None,
    sha1: Annotated[str | None, typer.Option(help="SHA-1 printed by the imager.")] = None,
    sm3: Annotated[str | None, typer.Option(help="SM3 printed by the imager.")] = None,
    blake3_hex: Annotated[
        str | None, typer.Option("--blake3", help="BLAKE3 printed by the imager.")
    ] = None,
    prehash: Annotated[
        bool,
        typer.Option(
            "--prehash",
            help="Compute BLAKE3 before uploading and declare it, so an S3 server can write "
            "straight to the content address (no server-side copy). Reads the file twice.",
        ),
    ] = False,
    seal_no: Annotated[str | None, typer.Option(help="Seal number (封存编号).")] = None,
    description: Annotated[str, typer.Option(help="What the item is.")] = "",
    media: Annotated[
        str | None, typer.Option(help='Media details as JSON, e.g. {"serial": "ZA1"}.')
    ] = None,
    algorithms: Annotated[
        str, typer.Option(help="Extra digests to compute: md5,sha1,sm3.")
    ] = "md5",
    parent: Annotated[
        str | None,
        typer.Option(
            help="Evidence id of the item this one was extracted from (e.g. the disk image "
            "Autopsy exported it from); recorded on both items' histories."
        ),
    ] = None,
    path_in_parent: Annotated[
        str | None,
        typer.Option(help="Where it was inside the parent, e.g. /Users/zhang/report.docx."),
    ] = None,
    resumable_upload: Annotated[
        bool | None,
        typer.Option(
            "--resumable/--no-resumable",
            help="Upload over tus, resuming after a dropped connection or a server restart. "
            "Default: for files above --resumable-above.",
        ),
    ] = None,
    resumable_above: Annotated[
        int, typer.Option(help="Size in bytes above which uploads are resumable.", min=0)
    ] = resumable.DEFAULT_THRESHOLD,
    retries: Annotated[
        int, typer.Option(help="Resumable: consecutive failures tolerated.", min=0)
    ] = resumable.RetryPolicy.retries,
    retry_delay: Annotated[
        float,
        typer.Option(help="Resumable: first wait in seconds (doubled, at most 15 s).", min=0),
    ] = resumable.RetryPolicy.first_delay,
    json_output: JsonOpt = False,
) -> None:
    """Upload evidence files: hashed locally while uploading, then compared with the server's.

    The case and your permission to add to it are checked before any byte is sent.
    """
    if path_in_parent is not None and parent is None:
        raise InputError("--path-in-parent needs --parent, the evidence id it was found in")
    declared_raw = {"sha256": sha256, "md5": md5, "sha1": sha1, "sm3": sm3, "blake3": blake3_hex}
    declared = {a: normalize_declared(a, v) for a, v in declared_raw.items() if v}
    segments = {p.resolve() for f in files for p in image_set(f)[1:]}
    if declared and len([f for f in files if f.resolve() not in segments]) > 1:
        raise InputError("declared digests apply to one file; intake files one by one")
    try:
        media_obj = json.loads(media) if media else {}
    except ValueError as e:
        raise InputError(f"--media is not valid JSON: {e}") from e
    chosen = parse_algorithms([*algorithms.split(","), *declared])
    results = []
    failed = False
    with ApiClient() as api, progress_bar(json_output) as progress:
        check_intake(api, case)
        taken: set[Path] = set()
        for path in files:
            if path.resolve() in taken:
                continue  # a segment of a set given before
            parts = image_set(path)
            taken.update(p.resolve() for p in parts)
            declared_here = dict(declared)
            if prehash and "blake3" not in declared_here:
                declared_here["blake3"] = prehash_blake3(path)
            metadata = {
                "case": case,
                "filename": path.name,
                "description": description,
                "seal_no": seal_no,
                "media": media_obj,
                "declared_digests": declared_here,
                "algorithms": [a for a in chosen if a not in ("blake3", "sha256")],
            }
            if parent is not None:
                metadata["parent"] = {"evidence": parent, "path": path_in_parent or ""}
            if len(parts) > 1:
                err.print(
                    f"{path.name}: taking in its {len(parts)} segments "
                    f"({', '.join(p.name for p in parts)}) as one item",
                    markup=False,
                )
                metadata.pop("filename")
                evidence = intake_set(api, parts, metadata, chosen, progress)
            elif resumable_upload or (
                resumable_upload is None and path.stat().st_size > resumable_above
            ):
                policy = resumable.RetryPolicy(retries=retries, first_delay=retry_delay)
                evidence = intake_resumable(api, path, metadata, chosen, progress, policy)
            else:
                evidence = intake_one(api, path, metadata, chosen, progress)
            results.append(evidence)
            failed = failed or bool(evidence["differences"])
    if json_output:
        emit_json(results[0] if len(results) == 1 else results)
    else:
        for ev in results:
            status = "[red]MISMATCH[/red]" if ev["differences"] else "[green]OK[/green]"
            out.print(f"{status} {ev['id']}  {ev['original_filename']}  {ev['size']} bytes")
            if ev.get("format", "file") != "file":
                out.print(f"  format {ev['format']}, {len(ev['parts'])} part(s)", markup=False)
                for algo, value in sorted(ev["image"]["digests"].items()):
                    out.print(f"  media {algo.upper():7} {value}", markup=False)
                for algo, value in sorted(ev["image"]["stored_digests"].items()):
                    out.print(f"  imager's {algo.upper():7} {value} (matches)", markup=False)
            if ev.get("derived_from"):
                origin = ev["derived_from"]
                out.print(
                    f"  derived from {origin['evidence']} {origin.get('path') or ''}".rstrip(),
                    markup=False,
                )
            for w in ev.get("warnings", []):
                out.print(f"  [yellow]WARNING:[/yellow] {w['message']}")
            for algo, value in sorted(ev["digests"].items()):
                out.print(f"  {algo.upper():7} {value}")
            for d in ev["differences"]:
                out.print(
                    f"  [red]FAIL:[/red] {d['algorithm']} local {d['local']} server {d['server']}"
                )
    if failed:
        raise typer.Exit(int(ExitCode.INTEGRITY))


def list_evidence(
    case: Annotated[str, typer.Option(help="Case number.")],
    json_output: JsonOpt = False,
) -> None:
    """List a case's evidence items in intake order (recorded as a view)."""
    with ApiClient() as api:
        items: list[dict[str, Any]] = api.get(f"{case_path(case)}/evidence").json()
    if json_output:
        emit_json(items)
        return
    for ev in items:  # lines, not a table: ids and digests must never be cut
        state = ev["state"]
        out.print(
            f"{ev['id']}  {ev['original_filename']}  {ev['size']} bytes  seal "
            f"{ev['seal_no'] or '-'}  {state['status']}, custodian {state['custodian'] or '-'}",
            markup=False,
        )
        out.print(f"  SHA256  {ev['digests']['sha256']}", markup=False)


def show(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    json_output: JsonOpt = False,
) -> None:
    """Show an evidence item's intake facts and current state (recorded as a view)."""
    with ApiClient() as api:
        ev = api.get(f"/api/v1/evidence/{evidence_id}").json()
    if json_output:
        emit_json(ev)
        return
    state = ev["state"]
    rows = [
        ("id", ev["id"]),
        ("case", ev["case"]),
        ("file", ev["original_filename"]),
        ("size", f"{ev['size']} bytes"),
        ("seal no", ev["seal_no"] or "-"),
        ("description", ev["description"] or "-"),
        ("intake", f"{ev['intake_time']} by {ev['technician']} ({ev['technician_department']})"),
        ("stored", f"{ev['storage']}:{ev['object_key']} version {ev['object_version'] or '-'}"),
        ("retained until", ev["retention_until"]),
        ("custodian", f"{state['custodian']} ({state['custodian_department']})"),
        ("status", state["status"]),
        ("legal hold", "yes" if state["legal_hold"] else "no"),
    ]
    for k, v in rows:
        out.print(f"{k:15} {v}", markup=False)
    for algo, value in sorted(ev["digests"].items()):
        out.print(f"{algo.upper():15} {value}", markup=False)


def download(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the content.")],
    purpose: Annotated[str, typer.Option(help="Why you need it (recorded).")],
    json_output: JsonOpt = False,
) -> None:
    """Download the content, checking its SHA-256 and BLAKE3 as it arrives."""
    if out_path.exists():
        raise InputError(f"{out_path} exists; choose a new file")
    tmp = out_path.with_name(out_path.name + ".part")
    with (
        ApiClient() as api,
        progress_bar(json_output) as progress,
        api.stream(
            f"/api/v1/evidence/{evidence_id}/content", params={"purpose": purpose}
        ) as response,
        MultiHasher() as hasher,
        tmp.open("wb") as f,
    ):
        task = progress.add_task(out_path.name, total=int(response.headers["content-length"]))
        for chunk in response.iter_bytes(CHUNK_SIZE):
            hasher.update(chunk)
            f.write(chunk)
            progress.update(task, advance=len(chunk))
        f.flush()
        os.fsync(f.fileno())
        expected = {
            "sha256": response.headers.get("x-custody-sha256"),
            "blake3": response.headers.get("x-custody-blake3"),
        }
        got = hasher.hexdigests()
    bad = {a: (v, got[a]) for a, v in expected.items() if v != got[a]}
    if bad:
        tmp.unlink()
        raise VerificationError(f"downloaded content does not match the recorded digests: {bad}")
    tmp.rename(out_path)
    result = {"file": str(out_path), "size": hasher.size, "digests": got}
    if json_output:
        emit_json(result)
    else:
        out.print(f"OK: {out_path} ({hasher.size} bytes) sha256 {got['sha256']}", markup=False)


def custody(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    json_output: JsonOpt = False,
) -> None:
    """Show the custody history: who, when, what, why."""
    with ApiClient() as api:
        history = api.get(f"/api/v1/evidence/{evidence_id}/custody").json()
    if json_output:
        emit_json(history)
        return
    for e in history["entries"]:
        entry = e["entry"]
        why = entry["details"].get("purpose") or entry["details"].get("reason") or ""
        out.print(
            f"{entry['seq']:>6} {entry['time']} {entry['actor']} ({entry['department']}) "
            f"{entry['action']} {why}",
            markup=False,
        )
