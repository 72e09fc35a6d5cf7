"""``custody verify-bundle`` through Typer: OK/FAIL/SKIPPED lines, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app  # the real app: errors are reported by its one boundary
from custody.bundle import write_bundle
from custody.checkpoint import SigningKey
from tests.custody.test_bundle import ORIGIN, Scenario, build_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("cli-scenario"))


@pytest.fixture(scope="module")
def bundle(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(scenario.data, tmp_path_factory.mktemp("cli") / "b", with_content=True)


@pytest.fixture(scope="module")
def bare(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(scenario.data, tmp_path_factory.mktemp("cli") / "b", with_content=False)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["verify-bundle", *args])
    return result.exit_code, result.output


def test_ok_exits_0(bundle: Path, scenario: Scenario) -> None:
    code, output = run(str(bundle), "--trusted-key", scenario.verifier.to_text())
    assert code == 0, output
    assert "OK: data/ledger/checkpoint.txt: signed by the trusted key" in output
    assert f"OK: content of {scenario.evidence_ids[0]}:" in output
    assert "OK: bundle verified" in output
    assert "FAIL" not in output


def test_trusted_key_from_a_file(bundle: Path, scenario: Scenario, tmp_path: Path) -> None:
    key_file = tmp_path / "lab.pub"
    key_file.write_text(scenario.verifier.to_text() + "\n")
    code, output = run(str(bundle), "--trusted-key", str(key_file))
    assert code == 0, output


def test_skipped_content_is_said_and_exits_0(bare: Path, scenario: Scenario) -> None:
    code, output = run(str(bare), "--trusted-key", scenario.verifier.to_text())
    assert code == 0, output
    assert f"SKIPPED: content of {scenario.evidence_ids[0]}:" in output
    assert "--content-dir" in output
    assert "2 skipped" in output and "NOT checked" in output


def test_content_dir(bare: Path, scenario: Scenario) -> None:
    code, output = run(
        str(bare),
        "--trusted-key",
        scenario.verifier.to_text(),
        "--content-dir",
        str(scenario.content_dir),
    )
    assert code == 0, output
    assert "SKIPPED" not in output
    assert f"OK: content of {scenario.evidence_ids[1]}" in output


def test_wrong_trusted_key_fails_with_exit_1(bundle: Path) -> None:
    other = SigningKey.generate(ORIGIN).verifier()
    code, output = run(str(bundle), "--trusted-key", other.to_text())
    assert code == 1, output
    assert (
        "FAIL: data/ledger/checkpoint.txt: not accepted: no signature by a trusted key: " in output
    )
    assert f"not by the trusted key {ORIGIN}+{other.key_id.hex()}" in output
    assert "FAIL: bundle does NOT verify" in output


def test_tampered_content_fails_with_exit_1(scenario: Scenario, tmp_path: Path) -> None:
    out = write_bundle(scenario.data, tmp_path / "b", with_content=True)
    ev = scenario.evidence_ids[1]
    target = next((out / "data" / "evidence" / ev / "content").iterdir())
    target.write_bytes(target.read_bytes().replace("利息".encode(), "本金".encode(), 1))
    code, output = run(str(out), "--trusted-key", scenario.verifier.to_text())
    assert code == 1, output
    assert f"FAIL: content of {ev}: data/evidence/{ev}/content/" in output
    assert "content does not match the recorded digests" in output
    assert "OK: data/ledger/checkpoint.txt" in output  # the rest is still reported


def test_json_output(bundle: Path, bare: Path, scenario: Scenario, tmp_path: Path) -> None:
    code, output = run(str(bundle), "--trusted-key", scenario.verifier.to_text(), "--json")
    assert code == 0, output
    value = json.loads(output)
    assert value["ok"] is True and value["failed"] == 0
    assert value["trusted_key"] == scenario.verifier.to_text()
    assert {c["status"] for c in value["checks"]} == {"OK"}

    code, output = run(str(bare), "--trusted-key", scenario.verifier.to_text(), "--json")
    value = json.loads(output)
    assert code == 0 and value["skipped"] == 2
    assert "SKIPPED" in {c["status"] for c in value["checks"]}

    other = SigningKey.generate(ORIGIN).verifier().to_text()
    code, output = run(str(bundle), "--trusted-key", other, "--json")
    assert code == 1
    value = json.loads(output)
    assert value["ok"] is False
    assert any(
        c["item"] == "data/ledger/checkpoint.txt" and c["status"] == "FAIL" for c in value["checks"]
    )


def test_usage_errors_exit_2(bundle: Path, tmp_path: Path) -> None:
    code, output = run(str(bundle), "--trusted-key", "not a key")
    assert code == 2, output
    code, output = run(str(tmp_path / "nowhere"), "--trusted-key", "x+00000000+AA==")
    assert code == 2, output
    code, output = run(str(bundle))
    assert code == 2, output
