"""Issue 10 finding 12, CLI exit codes: one registry, one mapping, one error boundary.

A remote error exits as the same error raised locally: the server's problem JSON names a
code, the client raises that code's class, and one table (custody.verdicts.EXIT_CODES) gives
the exit code. With ``--json`` the error is one JSON object on stdout and nothing else.
Everything runs through the real CLI against the real app under uvicorn; where the real
service cannot produce an error (a ``bundle-invalid`` is only ever raised offline), a route
added to the real app raises it and the app's own problem handler answers.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from typer.testing import Result

import cli
import cli.output
from api.problems import PROBLEM_BASE, status_for
from cli.boundary import BoundaryGroup
from cli.client import class_for_status, problem_error
from cli.main import app as cli_app
from custody import errors
from custody.errors import (
    BundleError,
    CustodyError,
    DigestMismatch,
    LedgerIntegrityError,
    ObjectMissing,
    ProofError,
    VerificationError,
    error_class_for,
    error_classes,
)
from custody.verdicts import ExitCode, exit_code_for
from tests.cli.served import Served, free_port
from tests.conftest import add_account

ERROR_KEYS = {"ok", "error", "code", "exit_code"}
RAISE_PREFIX = "/api/v1/evidence/raise-"
UNKNOWN_PREFIX = "/api/v1/evidence/unknown-"


def json_error(result: Result) -> dict[str, Any]:
    """The one JSON object a failed ``--json`` command printed, and nothing else on stdout."""
    value = json.loads(result.stdout)  # fails if stdout holds anything but one JSON document
    assert isinstance(value, dict) and set(value) == ERROR_KEYS, result.stdout
    assert value["ok"] is False and value["exit_code"] == result.exit_code
    return value


def instance(cls: type[CustodyError]) -> CustodyError:
    return cls(f"raised as {cls.code}")


def add_raising_routes(app: FastAPI) -> None:
    """``GET /api/v1/evidence/raise-<code>`` raises that class through the app's handler;
    ``.../unknown-<status>`` answers problem JSON with a code no class has."""
    for code, cls in error_classes().items():

        def endpoint(cls: type[CustodyError] = cls) -> None:
            raise instance(cls)

        app.add_api_route(RAISE_PREFIX + code, endpoint, methods=["GET"])
        app.router.routes.insert(0, app.router.routes.pop())  # before /evidence/{id}
    for status in (400, 401, 403, 404, 409, 422, 500, 503):

        def unknown(status: int = status) -> JSONResponse:
            body = {"type": f"{PROBLEM_BASE}made-up-{status}", "title": "t", "detail": "d"}
            return JSONResponse(body, status_code=status, media_type="application/problem+json")

        app.add_api_route(f"{UNKNOWN_PREFIX}{status}", unknown, methods=["GET"])
        app.router.routes.insert(0, app.router.routes.pop())

    def not_json() -> PlainTextResponse:
        return PlainTextResponse("Bad Gateway", status_code=502)

    app.add_api_route(UNKNOWN_PREFIX + "plain-502", not_json, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())


@pytest.fixture
def served_app(served_app: FastAPI) -> FastAPI:
    add_raising_routes(served_app)
    return served_app


# --- the registry and the one mapping -----------------------------------------------------


def test_every_error_class_is_registered_under_its_own_code() -> None:
    classes = error_classes()
    every = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, CustodyError)
    }
    assert set(classes.values()) == every
    for code, cls in classes.items():
        assert cls.code == code and error_class_for(code) is cls
    assert error_class_for("no-such-code") is None


@pytest.mark.parametrize("cls", sorted(error_classes().values(), key=lambda c: c.code))
def test_exit_codes_agree_with_the_http_statuses(cls: type[CustodyError]) -> None:
    """Each class exits as its HTTP status implies, except integrity problems found (1).

    This is what keeps one error alike remote and local: a new class the API answers with
    5xx must exit 3 here too, not fall to 2.
    """
    error = instance(cls)
    status = status_for(error)
    integrity = isinstance(error, VerificationError | DigestMismatch | ObjectMissing)
    expected = ExitCode.INTEGRITY if integrity else exit_code_for(class_for_status(status)("x"))
    assert exit_code_for(error) == expected, f"{cls.code} answers {status}"


# --- remote errors exit as local ones ----------------------------------------------------


@pytest.mark.parametrize("code", sorted(error_classes()))
def test_remote_error_exits_like_the_local_error(served: Served, code: str) -> None:
    cls = error_class_for(code)
    assert cls is not None
    local = exit_code_for(instance(cls))
    human = served.cli("evidence", "show", f"raise-{code}")
    assert human.exit_code == local, human.output
    assert human.stdout == ""
    assert f"raised as {code}" in human.stderr and f" {code}]" in human.stderr
    as_json = served.cli("evidence", "show", f"raise-{code}", "--json")
    assert as_json.exit_code == local, as_json.output
    value = json_error(as_json)
    assert value["code"] == code and value["error"] == f"raised as {code}"


@pytest.mark.parametrize("cls", [ProofError, BundleError, LedgerIntegrityError])
def test_remote_integrity_errors_exit_1_like_locally(served: Served, cls: type) -> None:
    assert exit_code_for(cls("local")) == ExitCode.INTEGRITY
    result = served.cli("evidence", "show", f"raise-{cls.code}", "--json")
    assert result.exit_code == 1, result.output
    assert json_error(result)["code"] == cls.code


def _two_checkpoints(served: Served, tmp_path: Path) -> tuple[Path, Path, str]:
    key = served.ctx.signing_key.verifier().to_text()
    old, new = tmp_path / "old.note", tmp_path / "new.note"
    served.create_case("EX-1")
    for path in (old, new):
        r = served.cli(
            "ledger", "checkpoint", "--trusted-key", key, "--out", str(path), actor=served.admin
        )
        assert r.exit_code == 0, r.output
        served.create_case(f"EX-{path.stem}")
    return old, new, key


def test_remote_invalid_proof_from_a_corrupt_merkle_node_exits_1(
    served: Served, tmp_path: Path
) -> None:
    """The server's stored tree is damaged: its consistency proof fails as invalid-proof."""
    old, new, key = _two_checkpoints(served, tmp_path)
    with served.ctx.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER ledger_nodes_no_update"))
        conn.execute(text("UPDATE ledger_nodes SET hash = X'00'"))
    result = served.cli("ledger", "consistency", str(old), str(new), "--trusted-key", key)
    assert result.exit_code == 1, result.output
    assert "FAIL:" in result.stderr and "[422 invalid-proof]" in result.stderr
    as_json = served.cli(
        "ledger", "consistency", str(old), str(new), "--trusted-key", key, "--json"
    )
    assert as_json.exit_code == 1
    assert json_error(as_json)["code"] == "invalid-proof"


def test_remote_ledger_integrity_from_a_missing_merkle_node_exits_1(
    served: Served, tmp_path: Path
) -> None:
    old, new, key = _two_checkpoints(served, tmp_path)
    with served.ctx.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER ledger_nodes_no_delete"))
        conn.execute(text("DELETE FROM ledger_nodes"))
    result = served.cli("ledger", "consistency", str(old), str(new), "--trusted-key", key, "--json")
    assert result.exit_code == 1, result.output
    assert json_error(result)["code"] == "ledger-integrity"


# --- refusals, absences, outages -----------------------------------------------------------


def test_refusal_403_exits_4(served: Served) -> None:
    """A technician may not manage accounts: 403, which is permission denied, not usage."""
    result = served.cli("account", "list")
    assert result.exit_code == 4, result.output
    assert "[403 permission-denied]" in result.stderr
    as_json = served.cli("account", "list", "--json")
    assert as_json.exit_code == 4
    assert json_error(as_json)["code"] == "permission-denied"


def test_bad_token_401_exits_4(served: Served) -> None:
    nobody = add_account(served.ctx, "gone.away", role="technician", department="forensics")
    nobody.token = nobody.token[:-4] + "xxxx"
    result = served.cli("case", "list", "--json", actor=nobody)
    assert result.exit_code == 4, result.output
    assert json_error(result)["code"] == "authentication-required"


def test_unknown_evidence_404_exits_2(served: Served) -> None:
    result = served.cli("evidence", "show", "no-such-id")
    assert result.exit_code == 2, result.output
    assert "[404 unknown-evidence]" in result.stderr
    assert json_error(served.cli("evidence", "show", "no-such-id", "--json"))["code"] == (
        "unknown-evidence"
    )


def test_server_down_exits_3(served: Served) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    result = served.cli("case", "list", url=down)
    assert result.exit_code == 3, result.output
    assert result.stdout == "" and "cannot reach the custody server" in result.stderr
    as_json = served.cli("case", "list", "--json", url=down)
    assert as_json.exit_code == 3
    assert json_error(as_json)["code"] == "server-unavailable"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, 2), (401, 4), (403, 4), (404, 2), (409, 2), (422, 2), (500, 3), (503, 3)],
)
def test_unknown_problem_code_falls_back_by_status(
    served: Served, status: int, expected: int
) -> None:
    result = served.cli("evidence", "show", f"unknown-{status}", "--json")
    assert result.exit_code == expected, result.output
    assert json_error(result)["code"] == f"made-up-{status}"


def test_a_5xx_without_problem_json_exits_3(served: Served) -> None:
    result = served.cli("evidence", "show", "unknown-plain-502", "--json")
    assert result.exit_code == 3, result.output
    value = json_error(result)
    assert value["code"] == "http-502" and value["error"] == "Bad Gateway"


# --- --json: one object on stdout, for local and remote errors ----------------------------


def test_json_error_is_one_object_on_stdout_for_a_local_error(
    served: Served, tmp_path: Path
) -> None:
    image = tmp_path / "a.bin"
    image.write_bytes(b"abc")
    result = served.cli("hash", str(image), "--algorithms", "nope", "--json")
    assert result.exit_code == 2, result.output
    assert json_error(result)["code"] == "unknown-algorithm"
    assert result.stderr == ""
    human = served.cli("hash", str(image), "--algorithms", "nope")
    assert human.exit_code == 2
    assert human.stdout == "" and human.stderr.startswith("error: unknown digest algorithm")


def test_json_error_is_one_object_on_stdout_for_a_remote_error(served: Served) -> None:
    result = served.cli("case", "list", "--json", actor=served.admin)  # admins see no cases
    assert result.exit_code == 4, result.output
    assert json_error(result)["code"] == "permission-denied"
    assert result.stderr == ""


def test_json_command_line_error_is_the_json_object_too(served: Served) -> None:
    result = served.cli("intake", "--json", "--case", "C-1")  # no FILE
    assert result.exit_code == 2, result.output
    value = json_error(result)
    assert value["code"] == "usage" and "Missing argument" in value["error"]
    human = served.cli("intake", "--case", "C-1")
    assert human.exit_code == 2 and human.stdout == "" and "Missing argument" in human.stderr


def test_an_option_value_that_looks_like_json_is_not_the_flag(
    served: Served, tmp_path: Path
) -> None:
    """``--description --json`` gives a description; errors stay human-readable."""
    result = served.cli("intake", str(tmp_path / "absent.bin"), "--description", "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "does not exist" in result.stderr


# --- one boundary, not one per command ---------------------------------------------------


def _command_decorators(tree: ast.AST) -> list[tuple[str, str]]:
    """``(function, decorator)`` for every command function (one taking ``json_output``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = [a.arg for a in node.args.args + node.args.kwonlyargs]
            if "json_output" not in params:
                continue
            for d in node.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                found.append((node.name, ast.unparse(target)))
    return found


def test_no_command_module_uses_a_per_command_boundary() -> None:
    modules = sorted(Path(cli.__file__).parent.glob("*.py"))
    assert len(modules) > 5
    commands = 0
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        commands += sum(
            1
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and "json_output" in [a.arg for a in node.args.args]
        )
        for function, name in _command_decorators(tree):
            # only registrations with a Typer app, e.g. @app.command("list")
            assert name.endswith((".command", ".callback")), f"{module.name}: {function} @{name}"
    assert commands >= 30  # the walk really saw the commands
    assert not hasattr(cli.output, "boundary")
    assert isinstance(typer.main.get_command(cli_app), BoundaryGroup)


# --- the client's reading of problem JSON -------------------------------------------------


def test_problem_json_becomes_the_registered_class_with_its_members() -> None:
    problem = {
        "type": f"{PROBLEM_BASE}ledger-integrity",
        "title": "Ledger integrity failure",
        "status": 422,
        "detail": "entry 7 is broken",
        "instance": "/api/v1/x",
        "seq": 7,
        "request_id": "r-1",
    }
    error = problem_error(422, problem)
    assert type(error) is LedgerIntegrityError
    assert (error.message, error.seq, error.status, error.reported_code) == (
        "entry 7 is broken",
        7,
        422,
        None,
    )
    assert error.extra == {"seq": 7, "request_id": "r-1"}


def test_problem_json_of_another_service_falls_back_by_status() -> None:
    error = problem_error(409, {"type": "about:blank", "title": "Conflict"})
    assert type(error) is errors.Conflict and error.reported_code == "http-409"
    assert error.message == "Conflict"
