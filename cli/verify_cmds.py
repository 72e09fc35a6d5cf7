"""``custody verify ID`` and ``custody fixity run``: re-verification from the client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.client import ApiClient
from cli.evidence import progress_bar
from cli.output import JsonOpt, emit_json, out
from custody.errors import CustodyError, InputError
from custody.verdicts import ExitCode, exit_code_for

fixity_app = typer.Typer(help="Scheduled re-verification (fixity audit).", no_args_is_help=True)


def _print_report(result: dict[str, Any]) -> None:
    report = result["report"]
    verdict = "OK" if result["result"] == "pass" else "FAIL"
    out.print(
        f"{verdict}: {report['evidence_id']} ({report['original_filename']}) in case "
        f"{report['case_number']}",
        markup=False,
    )
    for d in report["digests"]:
        mark = "OK" if d["match"] else "FAIL"
        out.print(
            f"  {mark}: {d['algorithm']} recorded {d['recorded']} recomputed {d['recomputed']}",
            markup=False,
        )
    lock = report["lock"]
    out.print(
        f"  {'OK' if lock['ok'] else 'FAIL'}: storage lock {lock['mode']} until "
        f"{lock['retain_until']}, legal hold {'on' if lock['legal_hold'] else 'off'}",
        markup=False,
    )
    ledger = report["ledger"]
    out.print(
        f"  {'OK' if ledger['ok'] else 'FAIL'}: {len(report['custody'])} ledger entries proven "
        f"against checkpoint at size {ledger['tree_size']}",
        markup=False,
    )
    for f in report["findings"]:
        out.print(f"  FAIL: {f}", markup=False)
    out.print(f"  report sha256 {result['report_hash']}", markup=False)


def verify(
    evidence_id: Annotated[str, typer.Argument(help="Evidence id.")],
    report_format: Annotated[
        str, typer.Option("--format", help="json, html or pdf (with --out).")
    ] = "json",
    out_file: Annotated[Path | None, typer.Option("--out", help="Save the report here.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Re-verify one item: content digests, storage lock, ledger entries. Exit 1 on failure."""
    if report_format not in ("json", "html", "pdf"):
        raise InputError("--format must be json, html or pdf")
    with ApiClient() as api:
        response = api.post(
            f"/api/v1/evidence/{evidence_id}/verifications", params={"format": report_format}
        )
    passed = response.headers.get("x-verification-result") == "pass"
    if report_format == "json":
        result = response.json()
        if out_file:
            out_file.write_text(response.text)
        if json_output:
            emit_json(result)
        else:
            _print_report(result)
    else:
        if out_file is None:
            raise InputError(f"--format {report_format} needs --out FILE")
        out_file.write_bytes(response.content)
        summary = {
            "result": response.headers.get("x-verification-result"),
            "report_hash": response.headers.get("x-report-sha256"),
            "file": str(out_file),
        }
        if json_output:
            emit_json(summary)
        else:
            out.print(f"{'OK' if passed else 'FAIL'}: report written to {out_file}", markup=False)
    if not passed:
        raise typer.Exit(int(ExitCode.INTEGRITY))


@fixity_app.command("run")
def fixity_run(
    all_cases: Annotated[bool, typer.Option("--all", help="Every case you can see.")] = False,
    case: Annotated[str | None, typer.Option(help="One case.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Verify every evidence object and record each result; exit 1 if anything fails.

    Suitable for cron: e.g. ``0 3 * * * custody fixity run --all --json >> fixity.log``.
    """
    if all_cases == (case is not None):
        raise InputError("give exactly one of --all or --case C")
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    with ApiClient() as api:
        numbers = [c["number"] for c in api.get("/api/v1/cases").json()] if all_cases else [case]
        items = [
            ev
            for n in numbers
            for ev in api.get(f"/api/v1/cases/{n}/evidence").json()
            if ev["state"]["status"] != "disposed"
        ]
        total = sum(ev["size"] for ev in items)
        with progress_bar(json_output) as progress:
            task = progress.add_task("fixity", total=total)
            for ev in items:
                try:
                    r = api.post(f"/api/v1/evidence/{ev['id']}/verifications").json()
                    results.append(
                        {
                            "evidence": ev["id"],
                            "case": ev["case"],
                            "size": ev["size"],
                            "result": r["result"],
                            "findings": r["report"]["findings"],
                            "report_hash": r["report_hash"],
                        }
                    )
                except CustodyError as e:
                    if exit_code_for(e) == ExitCode.UNAVAILABLE:
                        raise
                    results.append(
                        {
                            "evidence": ev["id"],
                            "case": ev["case"],
                            "size": ev["size"],
                            "result": "error",
                            "findings": [e.message],
                            "report_hash": None,
                        }
                    )
                progress.update(task, advance=ev["size"])
    elapsed = time.monotonic() - started
    failed = [r for r in results if r["result"] != "pass"]
    summary = {
        "checked": len(results),
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "bytes": total,
        "seconds": round(elapsed, 3),
        "mb_per_second": round(total / elapsed / 1e6, 1) if elapsed > 0 else None,
        "results": results,
    }
    if json_output:
        emit_json(summary)
    else:
        for r in results:
            mark = "OK" if r["result"] == "pass" else "FAIL"
            out.print(f"{mark}: {r['evidence']} ({r['case']})", markup=False)
            for f in r["findings"]:
                out.print(f"  {f}", markup=False)
        out.print(
            f"{summary['checked']} checked, {summary['passed']} passed, {summary['failed']} "
            f"failed; {total} bytes in {elapsed:.1f} s",
            markup=False,
        )
    if failed:
        raise typer.Exit(int(ExitCode.INTEGRITY))
