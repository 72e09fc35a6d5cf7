"""The base install is the court's verifier alone: a fresh venv, the wheel, no server extra.

A wheel is built from exactly the shipped packages and installed, without extras, into a
new venv (pip fetches blake3, rfc8785, cryptography and rfc3161-client, whose compiled
wheels verify RFC 3161 timestamps offline). The venv must have none of the
server's libraries, and its ``custody-verify`` must check a bundle that the real server
exported through the real ``custody export``: exit 0 as exported, 1 after one file changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server_process import Server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("pyproject.toml", "README.md", "custody", "storage", "api", "cli")
ABSENT = ("fastapi", "sqlalchemy", "sqlmodel", "minio", "fpdf", "typer", "rich", "httpx")
ABSENT += ("uvicorn", "alembic", "psycopg", "pydantic", "bagit", "starlette")
ABSENT += ("pyhanko", "pypdf")  # PDF checking is the [pdf] extra
PDF_EXTRA = "pip install 'evidence-custody[pdf]'"
INSTALL_TIMEOUT = 600


@dataclass
class BaseVenv:
    root: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name

    def run(self, *argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run in the venv, outside the checkout, so nothing can import the source tree."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )


def _pip(*args: str | Path, python: Path | str = sys.executable) -> None:
    r = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> BaseVenv:
    work = tmp_path_factory.mktemp("base-install")
    source = work / "src"
    source.mkdir()
    for name in SHIPPED:  # what the Dockerfile copies: the wheel is built from these alone
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    _pip("wheel", "--no-deps", "--quiet", source, "-w", work / "dist")
    (wheel,) = (work / "dist").glob("evidence_custody-*.whl")
    subprocess.run([sys.executable, "-m", "venv", work / "venv"], check=True, timeout=300)
    venv = BaseVenv(root=work / "venv", wheel=wheel)
    _pip("install", "--quiet", "--only-binary=:all:", wheel, python=venv.python)
    return venv


def test_wheel_ships_the_packages_not_the_tests(base: BaseVenv) -> None:
    names = zipfile.ZipFile(base.wheel).namelist()
    assert {"custody/__main__.py", "custody/offline.py", "cli/main.py"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(base.wheel).read(metadata).decode()
    required = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    base_deps = sorted(
        re.split(r"[<>=!; \[]", line.split(":", 1)[1].strip())[0]
        for line in required
        if "extra ==" not in line
    )
    assert base_deps == ["blake3", "cryptography", "rfc3161-client", "rfc8785"]
    assert "Provides-Extra: server" in text


def test_no_server_library_is_installed(base: BaseVenv, tmp_path: Path) -> None:
    code = (
        "import importlib.util, json\n"
        f"print(json.dumps([m for m in {ABSENT!r} if importlib.util.find_spec(m)]))"
    )
    r = base.run(base.python, "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []

    r = base.run(base.python, "-m", "pip", "list", "--format", "json", cwd=tmp_path)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(r.stdout)}
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["server"]
    server_names = {re.split(r"[<>=!\[ ]", s)[0].lower().replace("_", "-") for s in server}
    assert installed & server_names == set()
    assert {"evidence-custody", "blake3", "rfc8785", "cryptography", "rfc3161-client"} <= installed


def test_every_module_but_the_data_model_imports(base: BaseVenv, tmp_path: Path) -> None:
    code = (
        "import custody, importlib, pkgutil, json\n"
        "names = [m.name for m in pkgutil.walk_packages(custody.__path__, 'custody.')]\n"
        "skip = {'custody.db', 'custody.models', 'custody.ledger_store'}\n"
        "for n in names:\n"
        "    if n not in skip: importlib.import_module(n)\n"
        "print(json.dumps({'file': custody.__file__, 'names': names}))"
    )
    r = base.run(base.python, "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    value = json.loads(r.stdout)
    assert value["file"].startswith(str(base.root))  # the installed wheel, not the checkout
    assert "custody.offline" in value["names"]


def test_full_cli_says_to_install_the_server_extra(base: BaseVenv, tmp_path: Path) -> None:
    r = base.run(base.bin("custody"), "--help", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pip install 'evidence-custody[server]'" in r.stderr
    assert "custody-verify" in r.stderr


# --- a real bundle, exported by the real server ------------------------------------------


@dataclass
class Exported:
    bundle: Path
    key_file: Path
    evidence_id: str
    content: Path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """The server and the full CLI of the test venv: account, case, intake, export."""
    work = tmp_path_factory.mktemp("exported")
    server = Server(work / "var")
    try:
        tech = server.enrol("li.wei", role="technician", department="forensics")
        r = server.cli("case", "create", "2026-XS-0117", "--title", "张某等人放贷案", token=tech)
        assert r.returncode == 0, r.stderr
        content = work / "微信聊天记录.txt"
        content.write_bytes("张三: 明天还款, 利息 30%\n".encode() * 4000)
        r = server.cli(
            "intake",
            str(content),
            "--case",
            "2026-XS-0117",
            "--seal-no",
            "F-9",
            "--json",
            token=tech,
        )
        assert r.returncode == 0, r.stderr
        evidence_id = json.loads(r.stdout)["id"]
        key = httpx.get(
            f"{server.url}/api/v1/ledger/key",
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        key_file = work / "lab.pub"
        key_file.write_text(key.text)
        bundle = work / "bundle"
        r = server.cli(
            "export",
            "2026-XS-0117",
            "--out",
            str(bundle),
            "--with-content",
            "--purpose",
            "transfer to the court",
            token=tech,
        )
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        server.stop()
    yield Exported(bundle=bundle, key_file=key_file, evidence_id=evidence_id, content=content)


@pytest.mark.parametrize("how", ["custody-verify", "python -m custody"])
def test_base_install_verifies_a_real_bundle_and_catches_one_changed_file(
    base: BaseVenv, exported: Exported, tmp_path: Path, how: str
) -> None:
    command = (
        [base.bin("custody-verify")] if how == "custody-verify" else [base.python, "-m", "custody"]
    )
    key = ["--trusted-key", exported.key_file]
    r = base.run(*command, "verify-bundle", exported.bundle, *key, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout
    assert f"OK: content of {exported.evidence_id}:" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("OK: bundle verified — ")
    # the PDFs need the pdf extra: said so, not silently passed
    assert f"SKIPPED: evidence/{exported.evidence_id}/report.pdf: PDF signature not checked" in (
        r.stdout
    )
    assert PDF_EXTRA in r.stdout

    changed = Path(shutil.copytree(exported.bundle, tmp_path / "changed"))
    (target,) = (changed / "data" / "evidence" / exported.evidence_id / "content").iterdir()
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit of one file
    target.write_bytes(bytes(raw))
    r = base.run(*command, "verify-bundle", changed, *key, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"FAIL: content of {exported.evidence_id}: " in r.stdout
    assert r.stdout.splitlines()[-1].startswith("FAIL: bundle does NOT verify — ")

    r = base.run(*command, "verify-bundle", changed, *key, "--json", cwd=tmp_path)
    assert r.returncode == 1
    assert json.loads(r.stdout)["ok"] is False


def test_base_install_hashes_and_checks_reports(
    base: BaseVenv, exported: Exported, tmp_path: Path
) -> None:
    r = base.run(base.bin("custody-verify"), "hash", exported.content, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    digests = json.loads(r.stdout)[0]["digests"]
    case = json.loads((exported.bundle / "data" / "case.json").read_text())
    assert json.dumps(case).count(digests["sha256"]) >= 1  # the digest recorded at intake

    report = exported.bundle / "data" / "evidence" / exported.evidence_id / "report.json"
    r = base.run(
        base.bin("custody-verify"),
        "report",
        report,
        "--trusted-key",
        exported.key_file,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"  OK: sha256 recorded {digests['sha256']} recomputed {digests['sha256']}" in (
        r.stdout.splitlines()
    )


def test_base_install_names_the_pdf_extra_for_a_pdf_report(
    base: BaseVenv, exported: Exported, tmp_path: Path
) -> None:
    pdf = exported.bundle / "data" / "evidence" / exported.evidence_id / "report.pdf"
    key = ["--trusted-key", exported.key_file]
    r = base.run(base.bin("custody-verify"), "report", pdf, *key, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert PDF_EXTRA in r.stderr
    r = base.run(base.bin("custody-verify"), "report", pdf, *key, "--json", cwd=tmp_path)
    assert r.returncode == 2
    assert PDF_EXTRA in json.loads(r.stdout)["error"]


def test_bundle_carries_the_case_report_and_the_report_certificate(exported: Exported) -> None:
    data = exported.bundle / "data"
    case = json.loads((data / "case.json").read_text())
    assert (data / "case-report.pdf").read_bytes().startswith(b"%PDF-")
    assert (data / "ledger" / "report-certificate.pem").read_text().startswith("-----BEGIN")
    assert len(case["report_certificate"]["sha256"]) == 64
    assert case["case_report"]["pdf"] == "case-report.pdf"


def test_base_install_checks_timestamps_and_split_views(base: BaseVenv, tmp_path: Path) -> None:
    """rfc3161-client is in the base install: the court checks a real TSA's token offline."""
    from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
    from custody.timestamp import request_for
    from tests.tsa import make_tsa, openssl_reply

    tsa = make_tsa(tmp_path / "tsa")
    body = "court.example/log\n3\n" + "A" * 43 + "=\n"
    (tmp_path / "token.tsr").write_bytes(openssl_reply(tsa, request_for(body)))
    code = (
        "import sys; from pathlib import Path\n"
        "from custody.timestamp import load_trust, verify_token, body_digest\n"
        f"trust = load_trust(Path({str(tsa.chain)!r}).read_bytes(), 'chain')\n"
        f"v = verify_token(Path({str(tmp_path / 'token.tsr')!r}).read_bytes(), trust, "
        f"body_digest({body!r}))\n"
        "print(v.tsa)\n"
    )
    r = base.run(base.python, "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "CN=Test TSA"

    key = SigningKey.generate("court.example/log")
    for name, root in (("a.note", b"\1" * 32), ("b.note", b"\2" * 32)):
        cp = Checkpoint(origin="court.example/log", size=3, root=root)
        (tmp_path / name).write_text(sign_checkpoint(cp, key))
    r = base.run(
        base.bin("custody-verify"), "ledger", "split-view", "a.note", "b.note",
        "--trusted-key", key.verifier().to_text(), cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    assert "split view — proof of misbehaviour" in r.stdout


def test_base_install_runs_a_witness(base: BaseVenv, tmp_path: Path) -> None:
    """A court that installed only the verifier can witness: ``python -m custody.witness``."""
    from custody.checkpoint import Checkpoint, SigningKey, sign_checkpoint
    from tests.server_process import free_port

    r = base.run(base.python, "-m", "custody.witness", "init", "--name", "court.example/w",
                 "--dir", tmp_path / "w", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    log = SigningKey.generate("lab.example/log")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    proc = subprocess.Popen(
        [str(base.python), "-m", "custody.witness", "serve", "--dir", str(tmp_path / "w"),
         "--log-key", log.verifier().to_text(), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "serving on" in proc.stdout.readline().decode()
        note = sign_checkpoint(Checkpoint(origin="lab.example/log", size=1, root=b"\1" * 32), log)
        answer = httpx.post(f"http://127.0.0.1:{port}/add-checkpoint", content=f"old 0\n\n{note}")
        assert answer.status_code == 200 and answer.text.startswith("— court.example/w ")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
