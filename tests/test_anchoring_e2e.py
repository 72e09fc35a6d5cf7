"""Three parties, each a real process: the log (custody serve), a witness (custody witness
serve) and a verifier (custody-verify), with a real TSA (openssl ts -reply).

The walk-through of the README: the log submits every checkpoint to the witness and asks
the TSA for a token; an export carries the cosigned checkpoint and the token; the court
verifies the bundle offline with the lab's key, the witness's key and the TSA certificate.
Then every way the anchor can be forged, dropped or replayed fails, each by its name, and
tlog-scales — an independent implementation — checks the cosignatures and the tiles.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tlog_scales.backend import HttpBackend
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey
from tlog_scales.tlog import Checkpoint as ScalesCheckpoint

from custody.checkpoint import split_note
from custody.cosignature import WitnessSigningKey
from custody.timestamp import request_for
from tests.server_process import Server
from tests.tsa import TsaFiles, make_tsa, openssl_reply, serve_tsa
from tests.witness_proc import WitnessProcess, witness_init

pytestmark = pytest.mark.slow

CASE = "2026-XS-0212"
ORIGIN = "e2e.custody.example/ledger"


@dataclass
class Parties:
    server: Server
    witness: WitnessProcess
    witness_key: str
    log_key: str
    tsa: TsaFiles
    tech: str
    bundle: Path
    earlier_note: str  # the first export's cosigned checkpoint (an earlier tree)
    work: Path


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, env=env
    )


def verify(p: Parties, bundle: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    """The court's verifier: ``custody-verify`` (python -m custody), nothing of the server."""
    return run(
        sys.executable,
        "-m",
        "custody",
        "verify-bundle",
        bundle,
        "--trusted-key",
        p.log_key,
        *extra,
    )


def anchored(p: Parties) -> list[str | Path]:
    return ["--witness-key", p.witness_key, "--min-witnesses", "1", "--tsa-cert", p.tsa.chain]


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parties]:
    work = tmp_path_factory.mktemp("three-parties")
    data = work / "log" / "var"
    env = {**os.environ, "CUSTODY_DATA_DIR": str(data), "CUSTODY_LEDGER_ORIGIN": ORIGIN}
    r = run(sys.executable, "-m", "cli.main", "init", "--json", env=env)
    assert r.returncode == 0, r.stderr
    log_key = json.loads(r.stdout)["verifier_key"]
    witness_key = witness_init(work / "witness")
    witness = WitnessProcess(work / "witness", [log_key])
    tsa = make_tsa(work / "tsa")
    with serve_tsa(tsa) as tsa_url:
        server = Server(
            data,
            origin=ORIGIN,
            CUSTODY_WITNESSES=f"{witness.url}={witness_key}",
            CUSTODY_TSA=f"{tsa_url}={tsa.chain}",
            CUSTODY_ANCHOR_INTERVAL_SECONDS="0.5",
        )
        try:
            tech = server.enrol("li.wei", role="technician", department="forensics")
            assert (
                server.cli("case", "create", CASE, "--title", "witnessed", token=tech).returncode
                == 0
            )
            image = work / "phone.bin"
            image.write_bytes(os.urandom(4096))
            assert server.cli("intake", str(image), "--case", CASE, token=tech).returncode == 0
            first = work / "bundle-1"
            r = server.cli(
                "export", CASE, "--out", str(first), "--purpose", "pre-trial", token=tech
            )
            assert r.returncode == 0, r.stderr
            earlier_note = (first / "data" / "ledger" / "checkpoint.txt").read_text()
            time.sleep(1.1)  # cosignature times are whole seconds: the next export's is later
            assert server.cli("intake", str(image), "--case", CASE, token=tech).returncode == 0
            bundle = work / "bundle"
            r = server.cli("export", CASE, "--out", str(bundle), "--purpose", "trial", token=tech)
            assert r.returncode == 0, r.stderr
            yield Parties(
                server=server,
                witness=witness,
                witness_key=witness_key,
                log_key=log_key,
                tsa=tsa,
                tech=tech,
                bundle=bundle,
                earlier_note=earlier_note,
                work=work,
            )
        finally:
            server.stop()
            witness.stop()


def tampered(p: Parties, name: str) -> Path:
    copy = p.work / name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(p.bundle, copy)
    return copy


def fail_lines(r: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in r.stdout.splitlines() if line.startswith("FAIL")]


def witness_line(note: str, name: str) -> str:
    return next(line for line in note.splitlines() if line.startswith(f"— {name} "))


# --- the walk-through ----------------------------------------------------------------------


def test_three_parties_log_witness_and_verifier(parties: Parties) -> None:
    r = verify(parties, parties.bundle, *anchored(parties))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the witness vouched for this checkpoint" in r.stdout
    assert "1 of 1 trusted witnesses vouch (1 required)" in r.stdout
    assert "was timestamped at" in r.stdout and "CN=Test TSA" in r.stdout
    # the full CLI says the same
    full = parties.server.cli(
        "verify-bundle", str(parties.bundle), "--trusted-key", parties.log_key,
        "--witness-key", parties.witness_key, "--tsa-cert", str(parties.tsa.chain), "--json",
    )  # fmt: skip
    assert full.returncode == 0, full.stdout
    assert json.loads(full.stdout)["ok"] is True


def test_without_witness_keys_the_cosignatures_are_said_to_be_unchecked(parties: Parties) -> None:
    r = verify(parties, parties.bundle)
    assert r.returncode == 0, r.stdout
    assert "SKIPPED: witness cosignatures" in r.stdout
    assert "SKIPPED: RFC 3161 timestamps" in r.stdout


def test_tlog_scales_verifies_the_published_cosigned_checkpoint_and_tiles(
    parties: Parties,
) -> None:
    reader = TilesReader(HttpBackend(parties.server.url))  # no token: public tiles
    cp = reader.get_checkpoint()
    cp.verify(Vkey.from_string(parties.log_key))
    cp.verify(Vkey.from_string(parties.witness_key))  # the witness's cosignature/v1
    assert reader.calculate_root_hash() == cp.root_hash
    api = httpx.get(
        f"{parties.server.url}/api/v1/ledger/checkpoint",
        headers={"Authorization": f"Bearer {parties.tech}"},
    )
    ScalesCheckpoint.from_text(api.text).verify(Vkey.from_string(parties.witness_key))
    tile = httpx.get(f"{parties.server.url}/tile/0/000.p/{cp.size}")
    assert tile.headers["cache-control"].endswith("immutable") and len(tile.content) == 32 * cp.size
    assert httpx.get(f"{parties.server.url}/tile/entries/000.p/1").status_code == 401


def test_readyz_reports_the_witness_and_the_tsa(parties: Parties) -> None:
    body = httpx.get(f"{parties.server.url}/readyz").json()
    assert body["ready"] is True
    states = body["anchoring"]
    assert any(
        k.startswith("witness ") and v.startswith("ok: cosigned size") for k, v in states.items()
    )
    assert any(k.startswith("tsa ") and v.startswith("ok") for k, v in states.items())


# --- cosignatures: forged, missing, stale ----------------------------------------------------


def rewrite_checkpoint(bundle: Path, note: str) -> None:
    (bundle / "data" / "ledger" / "checkpoint.txt").write_text(note)


def test_forged_cosignature_fails(parties: Parties) -> None:
    bundle = tampered(parties, "forged-cosignature")
    note = (bundle / "data" / "ledger" / "checkpoint.txt").read_text()
    line = witness_line(note, "court.example/witness")
    name, sig = line.rsplit(" ", 1)
    raw = base64.b64decode(sig)
    forged = raw[:12] + bytes(64)  # key id and time kept, signature replaced
    rewrite_checkpoint(bundle, note.replace(line, f"{name} {base64.b64encode(forged).decode()}"))
    r = verify(parties, bundle, *anchored(parties))
    assert r.returncode == 1
    assert any("forged" in f and "court.example/witness" in f for f in fail_lines(r)), r.stdout


def test_missing_cosignature_fails(parties: Parties) -> None:
    bundle = tampered(parties, "missing-cosignature")
    note = (bundle / "data" / "ledger" / "checkpoint.txt").read_text()
    rewrite_checkpoint(bundle, note.replace(witness_line(note, "court.example/witness") + "\n", ""))
    r = verify(parties, bundle, *anchored(parties))
    assert r.returncode == 1
    assert any("too few" in f and "missing" in f for f in fail_lines(r)), r.stdout


def test_stale_cosignature_replayed_from_an_earlier_checkpoint_fails(parties: Parties) -> None:
    bundle = tampered(parties, "replayed-cosignature")
    note = (bundle / "data" / "ledger" / "checkpoint.txt").read_text()
    old = witness_line(parties.earlier_note, "court.example/witness")
    assert old != witness_line(note, "court.example/witness")
    rewrite_checkpoint(bundle, note.replace(witness_line(note, "court.example/witness"), old))
    r = verify(parties, bundle, *anchored(parties))
    assert r.returncode == 1
    assert any("stale" in f and "earlier checkpoint" in f for f in fail_lines(r)), r.stdout


def test_stale_cosignature_made_long_after_the_export_fails(parties: Parties) -> None:
    """A genuine cosignature of this very checkpoint, but dated two days after the export."""
    bundle = tampered(parties, "late-cosignature")
    note = (bundle / "data" / "ledger" / "checkpoint.txt").read_text()
    key = WitnessSigningKey.from_text((parties.work / "witness" / "witness.key").read_text())
    body, _ = split_note(note)
    late = key.cosign(body, int(time.time()) + 2 * 86400).line().rstrip("\n")
    rewrite_checkpoint(bundle, note.replace(witness_line(note, "court.example/witness"), late))
    r = verify(parties, bundle, *anchored(parties))
    assert r.returncode == 1
    assert any("stale" in f and "+48" in f for f in fail_lines(r)), r.stdout


# --- RFC 3161: three bad cases, each named ---------------------------------------------------


def test_timestamp_with_a_wrong_tsa_certificate_fails(parties: Parties) -> None:
    other = make_tsa(parties.work / "other-tsa", "Other")
    r = verify(parties, parties.bundle, "--tsa-cert", other.chain)
    assert r.returncode == 1
    assert any("untrusted" in f for f in fail_lines(r)), r.stdout


def test_timestamp_of_a_changed_checkpoint_fails(parties: Parties) -> None:
    bundle = tampered(parties, "changed-checkpoint")
    path = bundle / "data" / "ledger" / "checkpoint.txt"
    lines = path.read_text().split("\n")
    lines[1] = str(int(lines[1]) - 1)  # another tree size, same signatures
    path.write_text("\n".join(lines))
    r = verify(parties, bundle, "--tsa-cert", parties.tsa.chain)
    assert r.returncode == 1
    assert any("checkpoint-changed" in f for f in fail_lines(r)), r.stdout


def test_timestamp_token_for_another_hash_fails(parties: Parties) -> None:
    bundle = tampered(parties, "token-for-another-hash")
    (token,) = (bundle / "data" / "ledger" / "timestamps").iterdir()
    token.write_bytes(
        openssl_reply(parties.tsa, request_for(parties.earlier_note.split("\n\n")[0] + "\n"))
    )
    r = verify(parties, bundle, "--tsa-cert", parties.tsa.chain)
    assert r.returncode == 1
    assert any("other-hash" in f for f in fail_lines(r)), r.stdout


# --- the witness process itself: rollbacks are refused -------------------------------------


def test_rollback_is_refused_by_the_witness_process(parties: Parties) -> None:
    old_note = parties.earlier_note.split("\n\n")[0] + "\n\n"
    body, signatures = split_note(parties.earlier_note)
    log_only = body + "\n" + signatures[0].line()
    current = httpx.get(f"{parties.server.url}/checkpoint").text
    size = int(current.split("\n")[1])
    earlier = int(old_note.split("\n")[1])
    r = httpx.post(f"{parties.witness.url}/add-checkpoint", content=f"old {earlier}\n\n{log_only}")
    assert r.status_code == 409
    assert r.headers["content-type"] == "text/x.tlog.size"
    assert int(r.text) >= size > earlier


def test_plain_openssl_verifies_the_bundle_timestamp(parties: Parties) -> None:
    """The README's route without this software: the token is over the checkpoint's body."""
    ledger = parties.bundle / "data" / "ledger"
    script = (
        "digest=$(sed -n '1,/^$/p' checkpoint.txt | head -n -1 | sha256sum | cut -d' ' -f1) && "
        f'openssl ts -verify -digest "$digest" -in timestamps/000.tsr '
        f"-CAfile {parties.tsa.dir / 'ca.pem'} -untrusted {parties.tsa.dir / 'tsa.pem'}"
    )
    r = subprocess.run(
        ["bash", "-c", script], cwd=ledger, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "Verification: OK" in r.stdout, r.stdout + r.stderr


def test_a_court_mirrors_the_log_and_tlog_scales_reads_the_mirror(parties: Parties) -> None:
    from tlog_scales.backend import LocalBackend

    out = parties.work / "mirror"
    args = [sys.executable, "-m", "custody", "ledger", "mirror", parties.server.url]
    args += [
        "--out",
        str(out),
        "--trusted-key",
        parties.log_key,
        "--witness-key",
        parties.witness_key,
    ]
    first = run(*args, "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads(first.stdout)["previous"] is None
    reader = TilesReader(LocalBackend(out))  # the folder is a tlog-tiles log by itself
    cp = reader.get_checkpoint()
    assert reader.calculate_root_hash() == cp.root_hash
    image = parties.work / "later.bin"
    image.write_bytes(os.urandom(100))
    assert (
        parties.server.cli("intake", str(image), "--case", CASE, token=parties.tech).returncode == 0
    )
    httpx.get(
        f"{parties.server.url}/api/v1/ledger/checkpoint",
        headers={"Authorization": f"Bearer {parties.tech}"},
    )
    again = run(*args[:-2])  # no witness needed the second time
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"extends the mirrored size {cp.size}" in again.stdout
