"""``custody-verify`` / ``python -m custody`` in real subprocesses, next to the Typer CLI.

Both CLIs render the same :mod:`custody.verdicts` values, so on the same input they must
print the same lines, the same JSON and exit with the same code; these tests hold them to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app as typer_app
from custody.bundle import write_bundle
from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
from custody.merkle import consistency_proof_json
from custody.report import parse_report, report_bytes, sign_report
from tests.custody.test_bundle import ORIGIN, Scenario, build_scenario

COMMANDS = ("verify-bundle", "ledger", "hash", "report")
# Imported by a command, never by --help: the checks load only when something is checked.
HEAVY = ("blake3", "cryptography", "rfc8785", "custody.bundle", "custody.checkpoint", "typer")


def verify(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m custody ARGS`` in a subprocess, as a court would run it."""
    return subprocess.run(
        [sys.executable, "-m", "custody", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def full_cli(*args: str) -> tuple[int, str]:
    """The full ``custody`` CLI on the same arguments: exit code and stdout."""
    result = CliRunner().invoke(typer_app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def same_verdict(*args: str) -> subprocess.CompletedProcess[str]:
    """Run both CLIs; assert equal exit codes and equal stdout; return the argparse run."""
    ours = verify(*args)
    code, stdout = full_cli(*args)
    assert ours.returncode == code, (ours.stdout + ours.stderr, stdout)
    assert ours.stdout == stdout
    return ours


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("verify-scenario"))


@pytest.fixture(scope="module")
def bundle(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(scenario.data, tmp_path_factory.mktemp("verify") / "b", with_content=True)


@pytest.fixture(scope="module")
def bare(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(scenario.data, tmp_path_factory.mktemp("verify") / "b", with_content=False)


@pytest.fixture(scope="module")
def key_file(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "lab.pub"
    path.write_text(scenario.verifier.to_text() + "\n")
    return path


# --- help ----------------------------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes() -> None:
    r = verify("--help")
    assert r.returncode == 0, r.stderr
    for command in COMMANDS:
        assert command in r.stdout
    assert "4  permission denied" in r.stdout


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["verify-bundle"], ["DIR", "--trusted-key", "--content-dir", "--json"]),
        (["ledger", "consistency"], ["OLD", "NEW", "--trusted-key", "--proof", "--json"]),
        (["hash"], ["FILE", "--algorithms", "--json"]),
        (["report"], ["REPORT.json", "--signature", "--trusted-key", "--json"]),
    ],
)
def test_each_command_has_help(command: list[str], options: list[str]) -> None:
    r = verify(*command, "--help")
    assert r.returncode == 0, r.stderr
    for option in options:
        assert option in r.stdout


def test_help_imports_none_of_the_checks() -> None:
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "custody", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "|" in line}
    assert {"argparse", "custody.errors"} <= imported  # the parser, and its error boundary
    assert not {m for m in imported if m.split(".")[0] in HEAVY or m in HEAVY}


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("custody-verify")
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: custody-verify")


# --- verify-bundle ------------------------------------------------------------------------


def test_clean_bundle_verifies_and_both_clis_agree(bundle: Path, key_file: Path) -> None:
    r = same_verdict("verify-bundle", str(bundle), "--trusted-key", str(key_file))
    assert r.returncode == 0
    assert "OK: data/ledger/checkpoint.txt: signed by the trusted key" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("OK: bundle verified — ")
    assert "FAIL" not in r.stdout

    as_json = same_verdict("verify-bundle", str(bundle), "--trusted-key", str(key_file), "--json")
    value = json.loads(as_json.stdout)
    assert value["ok"] is True and value["failed"] == 0 and value["checked"] > 10


def test_bundle_without_content_says_skipped_and_both_clis_agree(
    bare: Path, key_file: Path, scenario: Scenario
) -> None:
    r = same_verdict("verify-bundle", str(bare), "--trusted-key", str(key_file))
    assert r.returncode == 0
    assert f"SKIPPED: content of {scenario.evidence_ids[0]}:" in r.stdout
    assert "(skipped items were NOT checked)" in r.stdout

    r = same_verdict(
        "verify-bundle",
        str(bare),
        "--trusted-key",
        str(key_file),
        "--content-dir",
        str(scenario.content_dir),
    )
    assert r.returncode == 0 and "SKIPPED" not in r.stdout


def test_modified_content_fails_in_both_clis(
    bundle: Path, key_file: Path, scenario: Scenario, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(bundle, tmp_path / "b"))
    ev = scenario.evidence_ids[1]
    target = next((copy / "data" / "evidence" / ev / "content").iterdir())
    target.write_bytes(target.read_bytes().replace("利息".encode(), "本金".encode(), 1))
    r = same_verdict("verify-bundle", str(copy), "--trusted-key", str(key_file))
    assert r.returncode == 1
    assert f"FAIL: content of {ev}: data/evidence/{ev}/content/" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("FAIL: bundle does NOT verify — ")
    as_json = same_verdict("verify-bundle", str(copy), "--trusted-key", str(key_file), "--json")
    assert json.loads(as_json.stdout)["ok"] is False


def test_wrong_trusted_key_fails_in_both_clis(bundle: Path) -> None:
    other = SigningKey.generate(ORIGIN).verifier().to_text()
    r = same_verdict("verify-bundle", str(bundle), "--trusted-key", other)
    assert r.returncode == 1
    assert "FAIL: data/ledger/checkpoint.txt:" in r.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--trusted-key", "not a key"], "invalid-input"),
        (["--trusted-key", "lab.pub"], "invalid-input"),  # no such file, and not a key
    ],
)
def test_bad_trusted_key_is_a_usage_error_in_both_clis(
    bundle: Path, args: list[str], code: str
) -> None:
    r = verify("verify-bundle", str(bundle), *args, "--json", cwd=bundle.parent)
    assert r.returncode == 2, r.stdout + r.stderr
    error = json.loads(r.stdout)
    assert error["ok"] is False and error["code"] == code and error["exit_code"] == 2
    assert error["error"].startswith("--trusted-key: ")
    plain = verify("verify-bundle", str(bundle), *args, cwd=bundle.parent)
    assert plain.returncode == 2 and plain.stdout == ""
    assert "error: --trusted-key: " in plain.stderr
    assert full_cli("verify-bundle", str(bundle), *args)[0] == 2


def test_usage_errors_exit_2_with_json_on_stdout(tmp_path: Path, key_file: Path) -> None:
    r = verify("verify-bundle", "--json", str(tmp_path / "nowhere"), "--trusted-key", str(key_file))
    assert r.returncode == 2
    assert json.loads(r.stdout) == {
        "ok": False,
        "error": f"{tmp_path / 'nowhere'}: no such folder",
        "code": "invalid-input",
        "exit_code": 2,
    }
    r = verify("verify-bundle", str(tmp_path), "--json")  # no --trusted-key
    assert r.returncode == 2
    error = json.loads(r.stdout)
    assert error["code"] == "usage" and "--trusted-key" in error["error"]
    r = verify("verify-bundle", str(tmp_path))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("usage: custody-verify verify-bundle")
    assert verify("no-such-command").returncode == 2
    assert verify().returncode == 2


# --- hash ----------------------------------------------------------------------------------


def test_hash_matches_hashlib_and_the_typer_cli(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    path = tmp_path / "磁盘镜像.dd"
    path.write_bytes(data)
    r = same_verdict("hash", str(path))
    assert r.returncode == 0
    assert f"SHA256  {hashlib.sha256(data).hexdigest()}  {path}" in r.stdout.splitlines()
    assert f"MD5  {hashlib.md5(data).hexdigest()}  {path}" in r.stdout.splitlines()
    assert len(r.stdout.splitlines()) == 5

    r = same_verdict("hash", str(path), str(path), "--algorithms", "md5", "--json")
    value = json.loads(r.stdout)
    assert len(value) == 2
    assert set(value[0]["digests"]) == {"blake3", "sha256", "md5"}
    assert value[0]["size"] == len(data)
    assert value[0]["digests"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_hash_errors(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    r = verify("hash", str(path), "--algorithms", "crc32", "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["code"] == "unknown-algorithm"
    r = verify("hash", str(tmp_path / "missing"), "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"].endswith("missing: no such file")
    r = verify("hash", str(tmp_path))
    assert r.returncode == 2 and "not a file" in r.stderr


# --- ledger consistency -------------------------------------------------------------------


@pytest.fixture
def notes(scenario: Scenario, tmp_path: Path) -> dict[str, Path]:
    """Two checkpoints of the scenario's ledger, a correct proof between them and a bad one."""
    tree, key = scenario.tree, scenario.key
    first, second = 5, tree.size
    paths = {}
    for name, size in (("old", first), ("new", second)):
        note = sign_checkpoint(Checkpoint(origin=ORIGIN, size=size, root=tree.root(size)), key)
        paths[name] = tmp_path / f"{name}.note"
        paths[name].write_text(note)
    proof = consistency_proof_json(first, second, tree.consistency_proof(first, second))
    paths["proof"] = tmp_path / "proof.json"
    paths["proof"].write_text(json.dumps(proof))
    paths["key"] = tmp_path / "lab.pub"
    paths["key"].write_text(scenario.verifier.to_text())
    bad = dict(proof, hashes=list(reversed(proof["hashes"])))
    paths["bad"] = tmp_path / "bad.json"
    paths["bad"].write_text(json.dumps(bad))
    return paths


def test_consistency_offline_with_a_proof_file(notes: dict[str, Path], scenario: Scenario) -> None:
    args = ["ledger", "consistency", str(notes["old"]), str(notes["new"])]
    args += ["--trusted-key", str(notes["key"]), "--proof"]
    r = same_verdict(*args, str(notes["proof"]))
    assert r.returncode == 0
    assert r.stdout == f"OK: the ledger at size {scenario.tree.size} extends the one at size 5\n"
    value = json.loads(same_verdict(*args, str(notes["proof"]), "--json").stdout)
    assert (value["ok"], value["first"], value["second"]) == (True, 5, scenario.tree.size)


def test_consistency_with_a_tampered_proof_fails(notes: dict[str, Path]) -> None:
    args = ["ledger", "consistency", str(notes["old"]), str(notes["new"])]
    args += ["--trusted-key", str(notes["key"]), "--proof", str(notes["bad"])]
    r = verify(*args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("FAIL: ")
    assert full_cli(*args)[0] == 1
    error = json.loads(verify(*args, "--json").stdout)
    assert error["ok"] is False and error["code"] == "invalid-proof" and error["exit_code"] == 1


def test_consistency_with_another_key_fails(notes: dict[str, Path]) -> None:
    other = SigningKey.generate(ORIGIN).verifier().to_text()
    args = ["ledger", "consistency", str(notes["old"]), str(notes["new"])]
    r = verify(*args, "--trusted-key", other, "--proof", str(notes["proof"]), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["code"] == "invalid-checkpoint"


def test_consistency_needs_the_proof_file_offline(notes: dict[str, Path]) -> None:
    r = verify("ledger", "consistency", str(notes["old"]), str(notes["new"]), "--trusted-key", "k")
    assert r.returncode == 2
    assert "--proof" in r.stderr


# --- report --------------------------------------------------------------------------------


def test_signed_report_shows_its_result_and_digests(bundle: Path, key_file: Path) -> None:
    ev_dir = next((bundle / "data" / "evidence").iterdir())
    report_file = ev_dir / "report.json"
    report = parse_report(report_file.read_bytes())
    r = verify("report", str(report_file), "--trusted-key", str(key_file))  # .sig beside it
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("OK: report signed by the trusted key ")
    assert lines[1].startswith(f"OK: {report.evidence_id} ")
    for d in report.digests:
        assert f"  OK: {d.algorithm} recorded {d.recorded} recomputed {d.recomputed}" in lines
    own = hashlib.sha256(report_file.read_bytes()).hexdigest()
    assert f"  report sha256 {own}" in lines

    value = json.loads(
        verify(
            "report",
            str(report_file),
            "--signature",
            str(ev_dir / "report.json.sig"),
            "--trusted-key",
            str(key_file),
            "--json",
        ).stdout
    )
    assert value["ok"] is True and value["report_hash"] == own
    assert value["digests"] == [d.to_json() for d in report.digests]


def test_edited_report_fails_its_signature(bundle: Path, key_file: Path, tmp_path: Path) -> None:
    ev_dir = next((bundle / "data" / "evidence").iterdir())
    edited = tmp_path / "report.json"
    edited.write_bytes(
        ev_dir.joinpath("report.json").read_bytes().replace(b"wang.fang", b"wang.fanG")
    )
    sig = tmp_path / "report.json.sig"
    sig.write_bytes(ev_dir.joinpath("report.json.sig").read_bytes())
    r = verify("report", str(edited), "--trusted-key", str(key_file))
    assert r.returncode == 1
    assert "does not verify" in r.stderr and r.stdout == ""
    other = SigningKey.generate(ORIGIN).verifier().to_text()
    r = verify("report", str(ev_dir / "report.json"), "--trusted-key", other, "--json")
    assert r.returncode == 1
    assert "not by the trusted key" in json.loads(r.stdout)["error"]


def test_genuine_report_of_a_failed_verification_exits_1(
    bundle: Path, key_file: Path, scenario: Scenario, tmp_path: Path
) -> None:
    ev_dir = next((bundle / "data" / "evidence").iterdir())
    report = parse_report(ev_dir.joinpath("report.json").read_bytes())
    failed = replace(report, result="fail", findings=["blake3 recomputed differs from intake"])
    raw = report_bytes(failed)
    (tmp_path / "r.json").write_bytes(raw)
    (tmp_path / "r.json.sig").write_text(sign_report(raw, scenario.key))
    r = verify("report", str(tmp_path / "r.json"), "--trusted-key", str(key_file))
    assert r.returncode == 1
    assert r.stdout.splitlines()[0].startswith("OK: report signed by the trusted key")
    assert " FAILED" in r.stdout.splitlines()[1]
    assert "  FAIL: blake3 recomputed differs from intake" in r.stdout.splitlines()


# --- the full CLI on a verifier-only install --------------------------------------------------


def test_custody_without_the_server_extra_says_what_to_install() -> None:
    """``typer`` made unimportable, as on the base install: a message and exit 2."""
    code = "import sys; sys.modules['typer'] = None\nfrom cli.main import main\nmain()"
    r = subprocess.run(
        [sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pip install 'evidence-custody[server]'" in r.stderr
    assert "custody-verify" in r.stderr and "missing: typer" in r.stderr


def test_readme_names_only_real_commands() -> None:
    """The court section of the README: each ``custody-verify …`` line parses as written."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = [line.split("#")[0].split() for line in readme.splitlines()]
    uses = [words[1:] for words in lines if words[:1] == ["custody-verify"]]
    assert len(uses) >= 10  # both languages
    for words in uses:
        command = words[:2] if words[0] == "ledger" else words[:1]
        assert command[0] in COMMANDS, words
        r = verify(*command, "--help")
        assert r.returncode == 0, (words, r.stderr)
        for option in (w for w in words if w.startswith("--")):
            assert option in r.stdout, (words, option)
