"""``custody-verify`` (also ``python -m custody``): the court's offline verifier.

It runs on the base install (blake3, rfc8785, cryptography), so it uses argparse, not Typer,
and imports nothing of the checks until a command runs: ``--help`` answers at once. The
decisions and the words printed come from :mod:`custody.offline` and
:mod:`custody.verdicts`, which the full ``custody`` CLI uses too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from custody.verdicts import Line

PROG = "custody-verify"
EXIT_CODES = """exit codes:
  0  everything checked is OK
  1  verification failed: an integrity problem was found
  2  usage or input error (bad arguments, a missing file, a malformed key)
  3  unavailable
  4  permission denied"""
KEY_HELP = (
    "the lab's verifier key (name+keyid+base64), or a file holding it; obtain it "
    "independently of what you check (e.g. the key the lab publishes), never from a bundle"
)


class UsageError(Exception):
    """A command line argparse refused; exit 2 (as JSON with ``--json``)."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors reach the one boundary instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", self.format_usage())


Handler = Callable[[argparse.Namespace], int]


def _emit(args: argparse.Namespace, value: Any, lines: Sequence[Line]) -> None:
    if args.json:
        print(json.dumps(value, indent=2, ensure_ascii=False))
    else:
        for line in lines:
            print(line.render())


# --- commands: each imports what it needs when it runs -----------------------------------


def _verify_bundle(args: argparse.Namespace) -> int:
    from custody import verdicts
    from custody.bundle import verify_bundle
    from custody.offline import (
        check_min_witnesses,
        load_trusted_key,
        load_tsa_trust,
        load_witness_keys,
        require_folder,
    )

    key = load_trusted_key(args.trusted_key)
    bundle = require_folder(args.bundle)
    content_dir = require_folder(args.content_dir) if args.content_dir else None
    witnesses = load_witness_keys(args.witness_key)
    report = verify_bundle(
        bundle,
        trusted_key=key,
        content_dir=content_dir,
        witness_keys=witnesses,
        min_witnesses=check_min_witnesses(witnesses, args.min_witnesses),
        tsa_trust=load_tsa_trust(args.tsa_cert),
    )
    _emit(args, verdicts.bundle_json(bundle, report, key), verdicts.bundle_lines(report, key))
    return verdicts.bundle_exit_code(report)


def _consistency(args: argparse.Namespace) -> int:
    from custody import verdicts
    from custody.offline import load_trusted_key, proof_from_json, prove_consistency, require_file

    key = load_trusted_key(args.trusted_key)
    notes = [require_file(p).read_text(encoding="utf-8") for p in (args.old, args.new)]
    proof = proof_from_json(require_file(args.proof).read_text(encoding="utf-8"))
    result = prove_consistency(notes[0], notes[1], key=key, proof=proof)
    _emit(args, verdicts.consistency_json(result), verdicts.consistency_lines(result))
    return verdicts.ExitCode.OK


def _split_view(args: argparse.Namespace) -> int:
    from custody import verdicts
    from custody.offline import load_trusted_key, proof_from_json, require_file, split_view

    key = load_trusted_key(args.trusted_key)
    notes = [require_file(p).read_text(encoding="utf-8") for p in (args.first, args.second)]
    proof = (
        proof_from_json(require_file(args.proof).read_text(encoding="utf-8"))
        if args.proof
        else None
    )
    result = split_view(notes[0], notes[1], key=key, proof=proof)
    _emit(args, verdicts.split_view_json(result), verdicts.split_view_lines(result))
    return verdicts.split_view_exit_code(result)


def _mirror(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    from custody.errors import InputError, ServerUnavailable
    from custody.mirror import mirror
    from custody.offline import check_min_witnesses, load_trusted_key, load_witness_keys

    base = args.url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InputError(f"{args.url}: give the log's http:// or https:// prefix")

    def fetch(path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(f"{base}/{path}", timeout=60) as r:  # noqa: S310
                data: bytes = r.read()
                return data
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise ServerUnavailable(f"{base}/{path}: HTTP {e.code}") from None
        except (urllib.error.URLError, TimeoutError) as e:
            raise ServerUnavailable(f"cannot reach {base}: {e}") from None

    key = load_trusted_key(args.trusted_key)
    witnesses = load_witness_keys(args.witness_key)
    done = mirror(
        fetch,
        args.out,
        key=key,
        witnesses=witnesses,
        min_witnesses=check_min_witnesses(witnesses, args.min_witnesses),
    )
    grew = (
        f"; it extends the mirrored size {done.previous.size}" if done.previous is not None else ""
    )
    value = {
        "ok": True,
        "origin": done.checkpoint.origin,
        "size": done.checkpoint.size,
        "previous": done.previous.size if done.previous else None,
        "tiles": done.tiles,
        "fetched": done.fetched,
        "out": str(args.out),
    }
    from custody.verdicts import Line

    text = (
        f"mirrored {done.checkpoint.origin} at size {done.checkpoint.size} into {args.out} "
        f"({done.tiles} tiles, {done.fetched} fetched; every tile checked against the signed "
        f"root){grew}"
    )
    _emit(args, value, [Line(status="OK", text=text)])
    return 0


def _hash(args: argparse.Namespace) -> int:
    from custody import verdicts
    from custody.hashing import hash_files

    results = hash_files(args.files, args.algorithms)
    _emit(args, verdicts.hash_json(results), verdicts.hash_lines(results))
    return verdicts.ExitCode.OK


def _report(args: argparse.Namespace) -> int:
    from custody import verdicts
    from custody.offline import check_signed_report, load_trusted_key, require_file

    key = load_trusted_key(args.trusted_key)
    data = require_file(args.report).read_bytes()
    if data.startswith(b"%PDF-"):  # a lone PDF: it carries its JSON and signatures inside
        from custody import pdf_verdicts
        from custody.report_pdf import check_report_pdf

        pdf = check_report_pdf(data, key)
        _emit(
            args, pdf_verdicts.pdf_report_json(args.report, pdf), pdf_verdicts.pdf_report_lines(pdf)
        )
        return pdf_verdicts.pdf_report_exit_code(pdf)
    signature = args.signature or args.report.with_name(args.report.name + ".sig")
    checked = check_signed_report(data, require_file(signature).read_text("utf-8"), key)
    _emit(args, verdicts.report_json(checked), verdicts.report_lines(checked))
    return verdicts.report_exit_code(checked)


# --- the command line ------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, handler: Handler) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (errors too) on stdout")
    parser.set_defaults(handler=handler)


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Check court bundles, ledger checkpoints, reports and files offline, "
        "trusting only a key you obtained yourself. No server, no network.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "verify-bundle",
        help="verify a court bundle: bag, sums, checkpoint, ledger entries, reports, content",
        description="Verify a court bundle (a BagIt folder) against one trusted key. Prints "
        "OK:/FAIL:/SKIPPED: per item and a summary; exit 1 if anything failed.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("bundle", metavar="DIR", type=Path, help="the bundle folder")
    p.add_argument("--trusted-key", required=True, metavar="KEY", help=KEY_HELP)
    p.add_argument(
        "--content-dir",
        type=Path,
        metavar="DIR",
        help="your copies of the evidence, when the bundle carries none (found by size and "
        "SHA-256)",
    )
    p.add_argument(
        "--witness-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a witness's cosignature/v1 key (name+keyid+base64), or a file; repeat for each "
        "witness you trust",
    )
    p.add_argument(
        "--min-witnesses",
        type=int,
        metavar="N",
        help="how many of those witnesses must have cosigned the checkpoint (default 1 when "
        "a --witness-key is given)",
    )
    p.add_argument(
        "--tsa-cert",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="PEM with a time-stamping authority's certificate and its CA; the bundle's RFC "
        "3161 tokens must verify against it",
    )
    _common(p, _verify_bundle)

    ledger = commands.add_parser("ledger", help="the custody ledger's checkpoints")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)
    p = ledger_commands.add_parser(
        "consistency",
        help="prove the ledger only grew between two checkpoints",
        description="Prove that the ledger at the NEW checkpoint extends the one at OLD (e.g. "
        "the checkpoints of two bundles), with a saved consistency proof.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old", metavar="OLD", type=Path, help="the earlier checkpoint note")
    p.add_argument("new", metavar="NEW", type=Path, help="the later checkpoint note")
    p.add_argument("--trusted-key", required=True, metavar="KEY", help=KEY_HELP)
    p.add_argument(
        "--proof",
        required=True,
        type=Path,
        metavar="FILE",
        help='consistency proof JSON {"first","second","hashes"} (e.g. a bundle\'s '
        "data/ledger/consistency.json)",
    )
    _common(p, _consistency)
    p = ledger_commands.add_parser(
        "split-view",
        help="check two signed checkpoints for a split view (two histories)",
        description="Check whether two checkpoints signed by the log's key describe one "
        "history. Two roots for one tree size (or a larger tree that does not extend the "
        "smaller) is a proof of misbehaviour: printed, exit 1.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("first", metavar="NOTE1", type=Path, help="a signed checkpoint note")
    p.add_argument("second", metavar="NOTE2", type=Path, help="another one")
    p.add_argument("--trusted-key", required=True, metavar="KEY", help=KEY_HELP)
    p.add_argument(
        "--proof",
        type=Path,
        metavar="FILE",
        help="consistency proof JSON between the two sizes, when they differ",
    )
    _common(p, _split_view)
    p = ledger_commands.add_parser(
        "mirror",
        help="mirror the log's checkpoint and hash tiles (C2SP tlog-tiles) into a folder",
        description="Fetch the log's /checkpoint and every hash tile, check them against the "
        "trusted key (and witnesses), and that the log only grew since the last mirror; write "
        "them under their tlog-tiles paths, ready for any static web server.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", metavar="URL", help="the log's tlog-tiles prefix, e.g. https://lab/")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="the mirror folder")
    p.add_argument("--trusted-key", required=True, metavar="KEY", help=KEY_HELP)
    p.add_argument("--witness-key", action="append", default=[], metavar="KEY")
    p.add_argument("--min-witnesses", type=int, metavar="N")
    _common(p, _mirror)

    p = commands.add_parser(
        "hash",
        help="hash files: every digest in one pass",
        description="Hash files offline; prints 'ALGO  HEX  FILE' lines.",
    )
    p.add_argument("files", metavar="FILE", type=Path, nargs="+", help="files to hash")
    p.add_argument(
        "--algorithms",
        metavar="LIST",
        help="comma-separated (blake3, sha256, sha1, md5, sm3); default all; BLAKE3 and "
        "SHA-256 are always included",
    )
    _common(p, _hash)

    p = commands.add_parser(
        "report",
        help="check a verification report (JSON or PDF) and show its result",
        description="Check the detached signature of a JSON verification report, or a lone "
        "PDF report (its PAdES signature, its embedded signed JSON and the digests it "
        "prints; needs the pdf extra: pip install 'evidence-custody[pdf]'), then print its "
        "result and digests; exit 1 if a check fails or the report records a failed "
        "verification.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "report", metavar="REPORT", type=Path, help="report.json as signed, or report.pdf"
    )
    p.add_argument(
        "--signature",
        type=Path,
        metavar="REPORT.json.sig",
        help="the detached signature (default: the report's name + .sig)",
    )
    p.add_argument("--trusted-key", required=True, metavar="KEY", help=KEY_HELP)
    _common(p, _report)
    return parser


def _fail(error: BaseException, *, as_json: bool) -> int:
    """The one error boundary: the message (or JSON object) and the DESIGN §5 exit code."""
    from custody import verdicts

    if isinstance(error, UsageError):
        code = verdicts.ExitCode.USAGE
        if as_json:
            value = {"ok": False, "error": error.message, "code": "usage", "exit_code": int(code)}
            print(json.dumps(value, indent=2, ensure_ascii=False))
        else:
            print(f"{error.usage}error: {error.message}", file=sys.stderr)
        return code
    if as_json:
        print(json.dumps(verdicts.error_json(error), indent=2, ensure_ascii=False))
    else:
        label = "FAIL" if verdicts.exit_code_for(error) == verdicts.ExitCode.INTEGRITY else "error"
        print(f"{label}: {verdicts.error_message(error)}", file=sys.stderr)
    return verdicts.exit_code_for(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 failed, 2 usage, 3 unavailable, 4 denied)."""
    from custody.errors import CustodyError

    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in arguments
    try:
        args = build_parser().parse_args(arguments)
        handler: Handler = args.handler
        return int(handler(args))
    except (UsageError, CustodyError, OSError) as e:
        return _fail(e, as_json=as_json)
    except UnicodeDecodeError as e:
        return _fail(UsageError(f"{PROG}: a file is not UTF-8 text ({e})"), as_json=as_json)


if __name__ == "__main__":
    sys.exit(main())
