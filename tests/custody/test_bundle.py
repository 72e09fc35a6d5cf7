"""Court bundles: written, validated by third-party tools, verified offline, and attacked.

Everything is built without a server: a signing key, a Merkle tree of sealed ledger
entries (with another case's entries interleaved), a signed checkpoint, signed reports
rendered to HTML and PDF, and content files on disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bagit
import blake3
import pytest

from api.reports import render_html, render_pdf, signed_report_pdf
from api.reports.signing import ReportCertificate, generate_certificate, sign_pdf
from custody.bundle import (
    BundleEntry,
    BundleEvidence,
    BundleInput,
    BundleReport,
    safe_file_name,
    verify_bundle,
    write_bundle,
)
from custody.canonical import canonical_json
from custody.checkpoint import Checkpoint, SigningKey, VerifierKey, sign_checkpoint
from custody.errors import BundleError
from custody.ledger import GENESIS_PREV, Action, EntryDraft, SealedEntry, seal_entry
from custody.merkle import InclusionProof, MemoryTree, leaf_hash
from custody.report import (
    CustodyEvent,
    DigestCheck,
    LedgerCheck,
    LockCheck,
    VerificationReport,
    parse_report,
    report_bytes,
    report_hash,
    sign_report,
)

ORIGIN = "custody.example/ledger"
REPORT_CERT = generate_certificate("custody.example report signer")


def report_pdf(report: VerificationReport, key: SigningKey, cert: ReportCertificate) -> bytes:
    """The self-contained PDF the server makes: embedded signed JSON, PAdES-signed."""
    raw = report_bytes(report)
    return signed_report_pdf(
        report,
        canonical=raw,
        report_hash=report_hash(report),
        signature=sign_report(raw, key),
        signer=cert,
    )


CASE = "2026-XS-0117"
OTHER_CASE = "2026-JJ-0042"
T0 = datetime(2026, 2, 27, 9, 0, tzinfo=UTC)


# --- building a realistic bundle input ----------------------------------------------------


@dataclass
class Scenario:
    key: SigningKey
    data: BundleInput
    content_dir: Path
    tree: MemoryTree
    sealed: list[SealedEntry]
    checkpoint: Checkpoint
    evidence_ids: list[str]
    earlier_export: SealedEntry

    @property
    def verifier(self) -> VerifierKey:
        return self.key.verifier()


class _Ledger:
    """A ledger in memory, with the global and per-case heads a real append keeps."""

    def __init__(self) -> None:
        self.tree = MemoryTree()
        self.sealed: list[SealedEntry] = []
        self.case_heads: dict[str, str] = {}

    def adopt(self, entry: SealedEntry) -> SealedEntry:
        self.sealed.append(entry)
        self.tree.append(entry.hash)
        case = entry.value()["case"]
        if case is not None:
            self.case_heads[case] = entry.hash_hex
        return entry

    def append(self, draft: EntryDraft) -> SealedEntry:
        seq = len(self.sealed)
        prev = self.sealed[-1].hash_hex if self.sealed else GENESIS_PREV
        case_prev = self.case_heads.get(draft.case) if draft.case else None
        return self.adopt(
            seal_entry(
                draft, seq=seq, prev=prev, case_prev=case_prev, time=T0 + timedelta(minutes=7 * seq)
            )
        )


def _digests(data: bytes) -> dict[str, str]:
    return {
        "blake3": blake3.blake3(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def proof_of(tree: MemoryTree, index: int, size: int) -> InclusionProof:
    return InclusionProof(
        leaf_index=index, tree_size=size, hashes=tuple(tree.inclusion_proof(index, size))
    )


def bundle_entry(tree: MemoryTree, entry: SealedEntry, size: int) -> BundleEntry:
    return BundleEntry(
        seq=entry.seq,
        canonical=entry.canonical,
        proof=proof_of(tree, entry.seq, size),
        prev_proof=proof_of(tree, entry.seq - 1, size) if entry.seq else None,
    )


def make_report(
    *,
    evidence_id: str,
    file_name: str,
    description: str,
    seal_no: str,
    data: bytes,
    intake: SealedEntry,
    events: list[SealedEntry],
    tree: MemoryTree,
    note: str,
    checkpoint: Checkpoint,
    key: SigningKey,
) -> VerificationReport:
    digests = _digests(data)
    return VerificationReport(
        generated_at="2026-02-27T10:30:00.000000Z",
        generated_by="wang.fang",
        generated_by_department="检察院第二检察部 / 2nd Prosecution Dept.",
        case_number=CASE,
        case_title="张某等涉嫌非法放贷案 (Zhang et al., loan-sharking ring)",
        case_classification="机密",
        evidence_id=evidence_id,
        original_filename=file_name,
        content_type="application/octet-stream",
        seal_no=seal_no,
        description=description,
        size_recorded=len(data),
        size_recomputed=len(data),
        intake_time=intake.value()["time"],
        intake_technician="li.wei",
        storage_key=f"blake3/{digests['blake3']}",
        storage_version="v1",
        digests=[
            DigestCheck(algorithm=a, recorded=v, recomputed=v, match=True)
            for a, v in sorted(digests.items())
        ],
        lock=LockCheck(
            backend="local",
            mode="COMPLIANCE",
            retain_until="2036-02-27T09:00:00.000000Z",
            legal_hold=False,
            expected_retain_until="2036-02-27T09:00:00.000000Z",
            expected_legal_hold=False,
            pinned_version="v1",
            latest_version="v1",
            versions=1,
            ok=True,
            findings=[],
        ),
        custody=[
            CustodyEvent(
                seq=e.seq,
                time=e.value()["time"],
                actor=e.value()["actor"],
                department=e.value()["department"],
                action=e.value()["action"],
                why=e.value()["details"].get("purpose"),
                entry_hash=e.hash_hex,
                chain_ok=True,
                proof_ok=True,
            )
            for e in events
        ],
        ledger=LedgerCheck(
            checkpoint_note=note,
            tree_size=checkpoint.size,
            root_b64=base64.b64encode(checkpoint.root).decode(),
            verifier_key=key.verifier().to_text(),
            proofs=[proof_of(tree, e.seq, checkpoint.size).to_json() for e in events],
            ok=True,
            findings=[],
        ),
        result="pass",
        findings=[],
    )


def build_scenario(root: Path, *, key: SigningKey | None = None) -> Scenario:
    """Two evidence items of one case, another case's entries interleaved, all signed."""
    key = key or SigningKey.generate(ORIGIN)
    content_dir = root / "originals"
    (content_dir / "nested").mkdir(parents=True)
    phone = os.urandom(1024 * 1024 + 12345)  # more than one 1 MiB chunk
    chats = "微信聊天记录导出\n张三: 明天还款, 利息 30%\n".encode() * 50
    ids = ["3f8e2a6c-1d4b-4c8e-9a57-2b1f0c9d7e11", "9b2d7c41-55aa-4e0b-8f3e-7d6a1c2b3e4f"]
    names = ["iPhone13_张某_全盘镜像.E01", "微信聊天记录_100%.txt"]
    (content_dir / "nested" / names[0]).write_bytes(phone)
    (content_dir / names[1]).write_bytes(chats)
    (content_dir / "unrelated.bin").write_bytes(b"x" * len(chats))  # same size, other bytes

    tech, pros = ("li.wei", "刑事技术科"), ("wang.fang", "检察院第二检察部")
    led = _Ledger()

    def draft(who: tuple[str, str], action: Action, case: str, ev: str | None, **details: object):
        return EntryDraft(
            actor=who[0], department=who[1], action=action, case=case, evidence=ev, details=details
        )

    led.append(draft(tech, Action.CASE_CREATED, CASE, None, title="张某等涉嫌非法放贷案"))
    led.append(draft(("zhao.lei", "经侦"), Action.CASE_CREATED, OTHER_CASE, None, title="other"))
    led.append(draft(tech, Action.GRANT_CREATED, CASE, None, account="chen.lawyer", grant="view"))
    intakes = []
    for ev, name, data in zip(ids, names, (phone, chats), strict=True):
        intakes.append(
            led.append(
                draft(
                    tech,
                    Action.INTAKE,
                    CASE,
                    ev,
                    filename=name,
                    size=len(data),
                    digests=_digests(data),
                    seal_no=f"FC-{ev[:4]}",
                )
            )
        )
        led.append(draft(("zhao.lei", "经侦"), Action.VIEW, OTHER_CASE, "other-ev", purpose="x"))
    view = led.append(draft(pros, Action.VIEW, CASE, ids[0], purpose="审查起诉阅卷"))
    earlier = led.append(
        draft(pros, Action.EXPORT, CASE, None, purpose="初次移送", evidence=ids, disposed=[])
    )
    verif = [
        led.append(draft(pros, Action.VERIFICATION, CASE, ev, purpose="庭前核验", result="pass"))
        for ev in ids
    ]
    led.append(draft(("zhao.lei", "经侦"), Action.DOWNLOAD, OTHER_CASE, "other-ev", purpose="y"))
    export = led.append(
        draft(
            pros,
            Action.EXPORT,
            CASE,
            None,
            purpose="移送法院 / to the court",
            evidence=ids,
            disposed=[],
        )
    )
    # the ledger goes on after the export; the bundle's checkpoint ends at the export entry
    led.append(draft(("zhao.lei", "经侦"), Action.VIEW, OTHER_CASE, "other-ev", purpose="z"))

    size = export.seq + 1
    checkpoint = Checkpoint(origin=ORIGIN, size=size, root=led.tree.root(size))
    note = sign_checkpoint(checkpoint, key)
    ours = [e for e in led.sealed if e.value()["case"] == CASE and e.seq < size]

    evidence = []
    events_of = {
        ids[0]: [intakes[0], view, verif[0]],
        ids[1]: [intakes[1], verif[1]],
    }
    descriptions = [
        "涉案手机全盘镜像，含微信聊天记录 <script>alert('x')</script>",
        '微信聊天记录导出, "quoted", 含逗号',
    ]
    for i, ev in enumerate(ids):
        data = (phone, chats)[i]
        report = make_report(
            evidence_id=ev,
            file_name=names[i],
            description=descriptions[i],
            seal_no=f"FC-{ev[:4]}",
            data=data,
            intake=intakes[i],
            events=events_of[ev],
            tree=led.tree,
            note=note,
            checkpoint=checkpoint,
            key=key,
        )
        report = replace(report, pdf_certificate_sha256=REPORT_CERT.sha256)
        raw = report_bytes(report)
        evidence.append(
            BundleEvidence(
                id=ev,
                case=CASE,
                file_name=names[i],
                content_type="application/octet-stream",
                category=("手机镜像 / phone image", "聊天记录 / chat export")[i],
                size=len(data),
                digests=_digests(data),
                seal_no=f"FC-{ev[:4]}",
                description=descriptions[i],
                intake_time=intakes[i].value()["time"],
                technician="li.wei",
                technician_department="刑事技术科",
                storage="local",
                retention_mode="LOCAL-WORM",
                retention_until="2036-02-27T09:00:00.000000Z",
                report_json=raw,
                report_signature=sign_report(raw, key),
                report_html=render_html(report, report_hash=report_hash(report)),
                report_pdf=report_pdf(report, key, REPORT_CERT),
                content_path=(content_dir / "nested" / names[0], content_dir / names[1])[i],
            )
        )
    data = BundleInput(
        case_number=CASE,
        case_title="张某等涉嫌非法放贷案 (Zhang et al., loan-sharking ring)",
        case_classification="机密",
        exported_at=export.value()["time"],
        exported_by="wang.fang",
        exported_by_department="检察院第二检察部",
        purpose="移送法院审查 / submission to the court",
        evidence=evidence,
        entries=[bundle_entry(led.tree, e, size) for e in ours],
        checkpoint_note=note,
        verifier_key=key.verifier().to_text(),
        report_certificate_pem=REPORT_CERT.pem(),
    )
    return Scenario(key, data, content_dir, led.tree, led.sealed, checkpoint, ids, earlier)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture
def bundle(scenario: Scenario, tmp_path: Path) -> Path:
    return write_bundle(scenario.data, tmp_path / "bundle", with_content=True)


@pytest.fixture
def bare_bundle(scenario: Scenario, tmp_path: Path) -> Path:
    return write_bundle(scenario.data, tmp_path / "bare", with_content=False)


# --- helpers for checks and for re-sealing a tampered bag -------------------------------


def failures(report: BundleReport) -> list[str]:
    return [f"{c.item} :: {c.message}" for c in report.failures]


def assert_fails_with(report: BundleReport, *fragments: str) -> None:
    assert not report.ok
    text = failures(report)
    for fragment in fragments:
        assert any(fragment in line for line in text), (fragment, text)


def reseal(bag_dir: Path) -> None:
    """What a careful forger does: rewrite SHA256SUMS, B3SUMS and every BagIt manifest."""
    data = bag_dir / "data"
    files = sorted(
        p for p in data.rglob("*") if p.is_file() and p.name not in ("SHA256SUMS", "B3SUMS")
    )
    sha = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(data).as_posix()}\n"
        for p in files
    )
    b3 = "".join(
        f"{blake3.blake3(p.read_bytes()).hexdigest()}  {p.relative_to(data).as_posix()}\n"
        for p in files
    )
    (data / "SHA256SUMS").write_text(sha)
    (data / "B3SUMS").write_text(b3)
    bag = bagit.Bag(str(bag_dir))
    bag.save(manifests=True)
    bagit.Bag(str(bag_dir)).validate()  # the forgery is internally consistent


def evidence_dir(bag_dir: Path, evidence_id: str) -> Path:
    return bag_dir / "data" / "evidence" / evidence_id


# --- the happy paths ----------------------------------------------------------------------


def test_bundle_layout(bundle: Path, scenario: Scenario) -> None:
    data = bundle / "data"
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"):
        assert (bundle / name).is_file(), name
    for name in ("README.zh.txt", "README.en.txt", "SHA256SUMS", "B3SUMS", "case.json"):
        assert (data / name).is_file(), name
    ev = scenario.evidence_ids[0]
    for name in ("report.json", "report.json.sig", "report.html", "report.pdf"):
        assert (data / "evidence" / ev / name).is_file()
    assert (data / "evidence" / ev / "content" / "iPhone13_张某_全盘镜像.E01").is_file()
    # '%' would need RFC 8493 percent-encoding, which bagit-python does not decode
    assert (
        data / "evidence" / scenario.evidence_ids[1] / "content" / "微信聊天记录_100％.txt"
    ).is_file()
    seqs = sorted(e.seq for e in scenario.data.entries)
    names = sorted(p.name for p in (data / "ledger" / "entries").iterdir())
    assert names == [f"{s:06d}.json" for s in seqs]
    for e in scenario.data.entries:
        assert (data / "ledger" / "entries" / f"{e.seq:06d}.json").read_bytes() == e.canonical
        proofs = json.loads((data / "ledger" / "proofs" / f"{e.seq:06d}.json").read_bytes())
        assert proofs["inclusion"]["leaf_index"] == e.seq
        assert (proofs["prev"] is None) == (e.seq == 0)
    # no entry of the other case leaks into the bundle
    for p in (data / "ledger" / "entries").iterdir():
        assert json.loads(p.read_bytes())["case"] == CASE
    assert (data / "ledger" / "checkpoint.txt").read_text() == scenario.data.checkpoint_note
    assert (data / "ledger" / "verifier-key.txt").read_text().strip() == scenario.verifier.to_text()
    info = (bundle / "bag-info.txt").read_text()
    for label in ("Source-Organization", "Bagging-Date", "Payload-Oxum", "External-Description"):
        assert label + ":" in info
    assert CASE in info and "submission to the court" in info
    assert "Bag-Software-Agent:" in info
    manifest = (bundle / "manifest-sha256.txt").read_text()
    assert (
        "data/evidence/" + scenario.evidence_ids[1] + "/content/微信聊天记录_100％.txt" in manifest
    )
    case = json.loads((data / "case.json").read_text())
    assert case["case"]["number"] == CASE
    assert case["export"]["exported_by"] == "wang.fang"
    assert case["export"]["purpose"] == "移送法院审查 / submission to the court"
    assert [e["id"] for e in case["evidence"]] == sorted(scenario.evidence_ids)
    csv_text = (data / "data-list.csv").read_text()
    assert csv_text.startswith("\ufeff序号/No.,证据编号/Evidence ID,案件编号/Case No.")
    assert scenario.data.evidence[0].digests["sha256"] in csv_text
    readme_en, readme_zh = (
        (data / "README.en.txt").read_text(),
        (data / "README.zh.txt").read_text(),
    )
    for text in (readme_en, readme_zh):
        assert "sha256sum -c SHA256SUMS" in text and "b3sum -c B3SUMS" in text
        first = scenario.data.entries[0].seq  # the example names an entry that exists
        assert f"(printf '\\0'; cat ledger/entries/{first:06d}.json) | sha256sum" in text
        assert (data / "ledger" / "entries" / f"{first:06d}.json").is_file()
        assert "custody-verify verify-bundle" in text and "pip install evidence-custody" in text


def test_sums_cover_every_other_payload_file(bundle: Path) -> None:
    data = bundle / "data"
    payload = sorted(
        p.relative_to(data).as_posix()
        for p in data.rglob("*")
        if p.is_file() and p.name not in ("SHA256SUMS", "B3SUMS")
    )
    for name in ("SHA256SUMS", "B3SUMS"):
        listed = sorted(line.split("  ", 1)[1] for line in (data / name).read_text().splitlines())
        assert listed == payload


def test_verify_bundle_with_content_passes(bundle: Path, scenario: Scenario) -> None:
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert report.ok, failures(report)
    assert not report.skipped
    items = [c.item for c in report.checks]
    assert "data/ledger/checkpoint.txt" in items
    assert f"report.json of {scenario.evidence_ids[0]}" in items
    assert f"content of {scenario.evidence_ids[0]}" in items
    for e in scenario.data.entries:
        assert f"data/ledger/entries/{e.seq:06d}.json" in items
    assert report.to_json()["failed"] == 0


def test_verify_bundle_without_content_with_content_dir(
    bare_bundle: Path, scenario: Scenario
) -> None:
    assert not any((bare_bundle / "data" / "evidence").rglob("content"))
    report = verify_bundle(
        bare_bundle, trusted_key=scenario.verifier, content_dir=scenario.content_dir
    )
    assert report.ok, failures(report)
    content = [c for c in report.checks if c.item.startswith("content of")]
    assert len(content) == 2 and all(c.ok and not c.skipped for c in content)
    assert any("nested" in c.message for c in content)


def test_verify_bundle_without_content_and_no_dir_is_skipped_not_failed(
    bare_bundle: Path, scenario: Scenario
) -> None:
    report = verify_bundle(bare_bundle, trusted_key=scenario.verifier)
    assert report.ok, failures(report)
    skipped = report.skipped
    assert len(skipped) == 2
    assert all(c.status == "SKIPPED" and "--content-dir" in c.message for c in skipped)


def test_content_dir_without_the_file_fails(
    bare_bundle: Path, scenario: Scenario, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(scenario.data.evidence[0].content_path, elsewhere / "copy.E01")  # type: ignore[arg-type]
    report = verify_bundle(bare_bundle, trusted_key=scenario.verifier, content_dir=elsewhere)
    assert_fails_with(report, "not found in")
    ok_items = {c.item for c in report.checks if c.ok}
    assert f"content of {scenario.evidence_ids[0]}" in ok_items


def test_bagit_library_validates_the_bundle(bundle: Path) -> None:
    bag = bagit.Bag(str(bundle))
    bag.validate()
    assert bag.is_valid()
    assert bag.info["Payload-Oxum"]


def test_bagit_console_script_validates_the_bundle(bundle: Path) -> None:
    script = Path(sys.executable).parent / "bagit.py"
    assert script.exists(), "bagit.py console script missing from the venv"
    result = subprocess.run(
        [str(script), "--validate", str(bundle)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sha256sum_checks_the_payload(bundle: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    result = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=bundle / "data",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout


def test_b3sum_checks_the_payload(bundle: Path) -> None:
    if shutil.which("b3sum") is None:
        reason = "b3sum not installed (apt-get install b3sum)"
        if os.environ.get("CUSTODY_REQUIRE_B3SUM") == "1":
            pytest.fail(reason + "; required by CUSTODY_REQUIRE_B3SUM=1")
        pytest.skip(reason)
    result = subprocess.run(
        ["b3sum", "-c", "B3SUMS"], cwd=bundle / "data", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manual_leaf_hash_recipe_matches(bundle: Path, scenario: Scenario) -> None:
    entry = scenario.data.entries[-1]
    path = bundle / "data" / "ledger" / "entries" / f"{entry.seq:06d}.json"
    assert (
        hashlib.sha256(b"\x00" + path.read_bytes()).hexdigest()
        == scenario.sealed[entry.seq].hash_hex
    )


def test_progress_reports_every_content_byte(scenario: Scenario, tmp_path: Path) -> None:
    seen: list[int] = []
    write_bundle(scenario.data, tmp_path / "b", with_content=True, progress=seen.append)
    assert sum(seen) == sum(e.size for e in scenario.data.evidence)
    assert max(seen) <= 1024 * 1024
    assert len(seen) >= 3  # the phone image took more than one chunk


def test_refuses_a_non_empty_out_dir(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not empty"):
        write_bundle(scenario.data, out, with_content=False)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp sibling left


def test_empty_existing_out_dir_is_used(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert write_bundle(scenario.data, out, with_content=False) == out
    assert (out / "bagit.txt").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_writer_refuses_content_that_differs_from_its_digests(
    scenario: Scenario, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.E01"
    bad.write_bytes(b"not the phone image")
    evidence = [replace(scenario.data.evidence[0], content_path=bad), *scenario.data.evidence[1:]]
    with pytest.raises(BundleError, match="does not match"):
        write_bundle(replace(scenario.data, evidence=evidence), tmp_path / "b", with_content=True)
    assert not (tmp_path / "b").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.E01"]


def test_item_without_content_path_is_bundled_without_content(
    scenario: Scenario, tmp_path: Path
) -> None:
    """E.g. a disposed item: its record and report travel, its bytes cannot."""
    evidence = [scenario.data.evidence[0], replace(scenario.data.evidence[1], content_path=None)]
    out = write_bundle(replace(scenario.data, evidence=evidence), tmp_path / "b", with_content=True)
    case = json.loads((out / "data" / "case.json").read_text())
    assert [e["content"] is None for e in case["evidence"]] == [False, True]
    report = verify_bundle(out, trusted_key=scenario.verifier)
    assert report.ok, failures(report)
    assert [c.item for c in report.skipped] == [f"content of {scenario.evidence_ids[1]}"]


def test_writer_refuses_a_report_not_signed_by_the_ledger_key(
    scenario: Scenario, tmp_path: Path
) -> None:
    stranger = SigningKey.generate(ORIGIN)
    ev = scenario.data.evidence[0]
    forged = replace(ev, report_signature=sign_report(ev.report_json, stranger))
    with pytest.raises(BundleError, match="report of"):
        write_bundle(
            replace(scenario.data, evidence=[forged, *scenario.data.evidence[1:]]),
            tmp_path / "b",
            with_content=False,
        )


def test_writer_refuses_unsafe_evidence_ids(scenario: Scenario, tmp_path: Path) -> None:
    ev = replace(scenario.data.evidence[0], id="../../etc")
    with pytest.raises(BundleError, match="cannot name a folder"):
        write_bundle(replace(scenario.data, evidence=[ev]), tmp_path / "b", with_content=False)


def test_safe_file_name() -> None:
    assert safe_file_name("a/b/c.txt") == "c.txt"
    assert safe_file_name("C:\\exports\\聊天.txt") == "聊天.txt"
    assert safe_file_name("bad\x00name\n.bin") == "badname.bin"
    assert safe_file_name("") == "content.bin"
    assert safe_file_name("dir/") == "content.bin"
    assert safe_file_name("..") == "content.bin"
    assert safe_file_name("利息_30%.txt") == "利息_30％.txt"
    long = safe_file_name("长" * 300 + ".E01")
    assert long.endswith(".E01") and len(long.encode()) <= 200


def test_manifest_path_percent_encoding_round_trips() -> None:
    from custody.bundle.bagit import decode_manifest_path, encode_manifest_path

    for path in ("data/a%b.txt", "data/line\nbreak\r.txt", "data/%0A literal", "data/ok.txt"):
        encoded = encode_manifest_path(path)
        assert "\n" not in encoded and "\r" not in encoded
        assert decode_manifest_path(encoded) == path
    assert encode_manifest_path("data/100%.txt") == "data/100%25.txt"
    assert decode_manifest_path("data/x%0d%0a") == "data/x\r\n"


def test_consistency_proof_is_carried(scenario: Scenario, tmp_path: Path) -> None:
    size = scenario.checkpoint.size
    proof = {
        "first": 5,
        "second": size,
        "hashes": [base64.b64encode(h).decode() for h in scenario.tree.consistency_proof(5, size)],
    }
    out = write_bundle(
        replace(scenario.data, consistency=proof), tmp_path / "b", with_content=False
    )
    assert json.loads((out / "data" / "ledger" / "consistency.json").read_bytes()) == proof
    report = verify_bundle(out, trusted_key=scenario.verifier)
    assert report.ok, failures(report)
    assert any(c.item == "data/ledger/consistency.json" for c in report.checks)


def test_verify_continues_after_failures(bundle: Path, scenario: Scenario) -> None:
    """Several independent changes are all reported, not just the first."""
    ev0, ev1 = scenario.evidence_ids
    (evidence_dir(bundle, ev0) / "report.pdf").unlink()
    (evidence_dir(bundle, ev1) / "report.html").write_text("<p>replaced</p>")
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report,
        f"file deleted from the bag: data/evidence/{ev0}/report.pdf",
        f"data/evidence/{ev1}/report.html",
    )
    assert any(c.ok and c.item == "data/ledger/checkpoint.txt" for c in report.checks)


def test_not_a_bag(tmp_path: Path, scenario: Scenario) -> None:
    report = verify_bundle(tmp_path / "missing", trusted_key=scenario.verifier)
    assert not report.ok
    empty = tmp_path / "empty"
    empty.mkdir()
    report = verify_bundle(empty, trusted_key=scenario.verifier)
    assert_fails_with(report, "bagit.txt")


# --- attacks: each must FAIL and the message must name what was changed -----------------


def test_attack_flipped_byte_in_bundled_content(bundle: Path, scenario: Scenario) -> None:
    ev = scenario.evidence_ids[0]
    target = evidence_dir(bundle, ev) / "content" / "iPhone13_张某_全盘镜像.E01"
    raw = bytearray(target.read_bytes())
    raw[777_777] ^= 0x01
    target.write_bytes(bytes(raw))
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    rel = f"data/evidence/{ev}/content/iPhone13_张某_全盘镜像.E01"
    assert_fails_with(
        report,
        f"{rel}: sha256 does not match manifest-sha256.txt",
        f"{rel}: content does not match the recorded digests",
        "the content was changed",
    )
    # even after the forger re-seals every manifest, the signed report still catches it
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(report, f"{rel}: content does not match the recorded digests")
    assert not any("manifest-sha256.txt" in line for line in failures(report))


def test_attack_edited_ledger_entry_in_bundle(bundle: Path, scenario: Scenario) -> None:
    view = next(
        e for e in scenario.data.entries if json.loads(e.canonical)["action"] == "evidence.view"
    )
    name = f"{view.seq:06d}.json"
    path = bundle / "data" / "ledger" / "entries" / name
    value = json.loads(path.read_bytes())
    value["details"]["purpose"] = "例行检查 / routine check"  # hide why it was looked at
    path.write_bytes(canonical_json(value))
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report,
        f"data/ledger/entries/{name}: hash does not match its inclusion proof",
        "the entry was edited",
        # the signed report's custody history no longer matches either
        f"lists custody entry {view.seq} with hash",
    )


def test_attack_bundle_resigned_with_another_key(bundle: Path, scenario: Scenario) -> None:
    forger = SigningKey.generate(ORIGIN)  # same name, different key
    forged_cert = generate_certificate("custody.example report signer")  # same name too
    ledger = bundle / "data" / "ledger"
    note = sign_checkpoint(scenario.checkpoint, forger)
    (ledger / "checkpoint.txt").write_text(note)
    (ledger / "verifier-key.txt").write_text(forger.verifier().to_text() + "\n")
    case_path = bundle / "data" / "case.json"
    case = json.loads(case_path.read_text())
    for ev, item in zip(scenario.evidence_ids, case["evidence"], strict=True):
        d = evidence_dir(bundle, ev)
        old = parse_report((d / "report.json").read_bytes())
        ledger_part = replace(
            old.ledger, checkpoint_note=note, verifier_key=forger.verifier().to_text()
        )
        new = replace(old, ledger=ledger_part, pdf_certificate_sha256=forged_cert.sha256)
        (d / "report.json").write_bytes(report_bytes(new))
        (d / "report.json.sig").write_text(sign_report(report_bytes(new), forger))
        (d / "report.html").write_text(render_html(new, report_hash=report_hash(new)))
        (d / "report.pdf").write_bytes(report_pdf(new, forger, forged_cert))
        item["report_hash"] = report_hash(new)
    (ledger / "report-certificate.pem").write_text(forged_cert.pem())
    case["report_certificate"]["sha256"] = forged_cert.sha256
    case_path.write_text(json.dumps(case, ensure_ascii=False))
    reseal(bundle)
    # internally consistent: it verifies against its own key
    assert verify_bundle(bundle, trusted_key=forger.verifier()).ok
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report,
        f"data/ledger/checkpoint.txt: not accepted: no signature by a trusted key: signed by "
        f"key {ORIGIN}+{forger.key_id.hex()}, not by the trusted key {scenario.verifier.name}+"
        f"{scenario.verifier.key_id.hex()}",
        "data/ledger/verifier-key.txt: names",
        *(
            f"report.json of {ev}: signature does not verify with the trusted key"
            for ev in scenario.evidence_ids
        ),
    )
    # with no trusted checkpoint, no entry counts as proven
    assert any("not proven" in line for line in failures(report))


def test_attack_report_json_with_changed_digest(bundle: Path, scenario: Scenario) -> None:
    ev = scenario.evidence_ids[1]
    path = evidence_dir(bundle, ev) / "report.json"
    value = json.loads(path.read_bytes())
    fake = "0" * 64
    for d in value["digests"]:
        if d["algorithm"] == "sha256":
            d["recorded"] = d["recomputed"] = fake
    path.write_bytes(canonical_json(value))
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report, f"report.json of {ev}: signature does not verify with the trusted key"
    )
    # and it disagrees with the ledger's INTAKE entry and the data list
    assert_fails_with(report, "differs from INTAKE ledger entry", "differs from data/data-list.csv")


def test_attack_file_deleted_from_bag(bundle: Path, scenario: Scenario) -> None:
    ev = scenario.evidence_ids[0]
    (evidence_dir(bundle, ev) / "report.pdf").unlink()
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report,
        f"file deleted from the bag: data/evidence/{ev}/report.pdf",
        "Payload-Oxum",
    )


def test_attack_deleted_ledger_entry_with_resealed_bag(bundle: Path, scenario: Scenario) -> None:
    """Hiding a custody event: the signed report still lists it."""
    view = next(
        e for e in scenario.data.entries if json.loads(e.canonical)["action"] == "evidence.view"
    )
    name = f"{view.seq:06d}.json"
    (bundle / "data" / "ledger" / "entries" / name).unlink()
    (bundle / "data" / "ledger" / "proofs" / name).unlink()
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(report, f"file deleted from the bag: data/ledger/entries/{name}")


def test_attack_evidence_item_removed_from_bundle(bundle: Path, scenario: Scenario) -> None:
    """Drop a whole item and every trace of it in the unsigned files: the EXPORT entry knows."""
    gone = scenario.evidence_ids[1]
    shutil.rmtree(evidence_dir(bundle, gone))
    case_path = bundle / "data" / "case.json"
    case = json.loads(case_path.read_text())
    case["evidence"] = [e for e in case["evidence"] if e["id"] != gone]
    case_path.write_text(json.dumps(case, ensure_ascii=False))
    csv_path = bundle / "data" / "data-list.csv"
    lines = csv_path.read_text().split("\r\n")
    csv_path.write_text("\r\n".join(line for line in lines if not line.startswith("2,")))
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(report, f"the export entry lists evidence {gone}, which is missing")


def test_attack_swapped_ledger_entries(bundle: Path, scenario: Scenario) -> None:
    a, b = scenario.data.entries[3], scenario.data.entries[4]
    entries = bundle / "data" / "ledger" / "entries"
    proofs = bundle / "data" / "ledger" / "proofs"
    na, nb = f"{a.seq:06d}.json", f"{b.seq:06d}.json"
    # swap the entries and their proofs, so each proof still fits its entry
    for folder in (entries, proofs):
        ta, tb = (folder / na).read_bytes(), (folder / nb).read_bytes()
        (folder / na).write_bytes(tb)
        (folder / nb).write_bytes(ta)
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report,
        f"data/ledger/entries/{na}: carries seq {b.seq} but is filed as entry {a.seq}",
        f"data/ledger/entries/{nb}: carries seq {a.seq} but is filed as entry {b.seq}",
        "swapped",
        "case chain: out of order",
    )

    # swapping only the entries (not the proofs) breaks the inclusion proofs too
    for folder in (proofs,):
        ta, tb = (folder / na).read_bytes(), (folder / nb).read_bytes()
        (folder / na).write_bytes(tb)
        (folder / nb).write_bytes(ta)
    reseal(bundle)
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(report, f"data/ledger/entries/{na}: hash does not match its inclusion proof")


def test_attack_forged_prev_link(scenario: Scenario, tmp_path: Path) -> None:
    """A log that skips an entry: entry k's prev names entry k-2, hiding entry k-1.

    The checkpoint is genuinely signed (a compromised or buggy server), so the entry's own
    inclusion proof verifies; only the prev proof of leaf k-1 exposes the forged link.
    """
    led = _Ledger()
    tech = ("li.wei", "刑事技术科")
    for e in scenario.sealed[:6]:
        led.adopt(e)
    hidden = led.append(
        EntryDraft(
            actor="mallory",
            department="x",
            action=Action.DOWNLOAD,
            case=CASE,
            evidence=scenario.evidence_ids[0],
            details={"purpose": "copy"},
        )
    )
    seq = len(led.sealed)
    forged = seal_entry(
        EntryDraft(
            actor=tech[0],
            department=tech[1],
            action=Action.VIEW,
            case=CASE,
            evidence=scenario.evidence_ids[0],
            details={"purpose": "审查"},
        ),
        seq=seq,
        prev=led.sealed[-2].hash_hex,  # links past the hidden download
        case_prev=led.sealed[-2].hash_hex,
        time=T0 + timedelta(hours=3),
    )
    led.adopt(forged)
    size = led.tree.size
    cp = Checkpoint(origin=ORIGIN, size=size, root=led.tree.root())
    note = sign_checkpoint(cp, scenario.key)
    ours = [e for e in led.sealed if e.value()["case"] == CASE and e.seq != hidden.seq]
    entries = [bundle_entry(led.tree, e, size) for e in ours]
    # the writer refuses to build it
    data = replace(scenario.data, entries=entries, checkpoint_note=note, evidence=[])
    with pytest.raises(BundleError, match=f"ledger entry {seq} is not proven"):
        write_bundle(data, tmp_path / "refused", with_content=False)

    # a forger who writes the bag by hand: write a good bag, then drop in the forged ledger
    out = write_bundle(scenario.data, tmp_path / "b", with_content=False)
    ledger = out / "data" / "ledger"
    shutil.rmtree(ledger / "entries")
    shutil.rmtree(ledger / "proofs")
    (ledger / "entries").mkdir()
    (ledger / "proofs").mkdir()
    for e in entries:
        name = f"{e.seq:06d}.json"
        (ledger / "entries" / name).write_bytes(e.canonical)
        proofs = {
            "inclusion": e.proof.to_json(),
            "prev": e.prev_proof.to_json() if e.prev_proof else None,
        }
        (ledger / "proofs" / name).write_bytes(canonical_json(proofs))
    (ledger / "checkpoint.txt").write_text(note)
    case = json.loads((out / "data" / "case.json").read_text())
    case["entries"] = [e.seq for e in entries]
    (out / "data" / "case.json").write_text(json.dumps(case))
    reseal(out)
    report = verify_bundle(out, trusted_key=scenario.verifier)
    name = f"{seq:06d}.json"
    assert_fails_with(report, f"data/ledger/entries/{name}: prev link is not proven")
    # its own inclusion proof is fine: the signed tree really holds the forged entry
    assert not any(f"entries/{name}: hash does not match" in line for line in failures(report))

    # pointing the prev proof at leaf k-2 (whose hash *is* the forged prev) does not help
    proofs_path = ledger / "proofs" / name
    proofs = json.loads(proofs_path.read_bytes())
    proofs["prev"] = proof_of(led.tree, seq - 2, size).to_json()
    proofs_path.write_bytes(canonical_json(proofs))
    reseal(out)
    report = verify_bundle(out, trusted_key=scenario.verifier)
    assert_fails_with(
        report, f"data/ledger/entries/{name}: prev link is not proven", f"not leaf {seq - 1}"
    )


# --- attacks on completeness: leave something out, rebuild every unsigned manifest ----------


def entries_of(scenario: Scenario, action: str, evidence: str | None = None) -> list[BundleEntry]:
    return [
        e
        for e in scenario.data.entries
        if json.loads(e.canonical)["action"] == action
        and (evidence is None or json.loads(e.canonical)["evidence"] == evidence)
    ]


def drop_entries(bag_dir: Path, seqs: list[int]) -> None:
    """Remove entries and their proofs, and every mention of them in case.json."""
    ledger = bag_dir / "data" / "ledger"
    for seq in seqs:
        (ledger / "entries" / f"{seq:06d}.json").unlink()
        (ledger / "proofs" / f"{seq:06d}.json").unlink()
    case_path = bag_dir / "data" / "case.json"
    case = json.loads(case_path.read_text())
    case["entries"] = [s for s in case["entries"] if s not in seqs]
    case_path.write_text(json.dumps(case, ensure_ascii=False))


def drop_item(bag_dir: Path, evidence_id: str) -> None:
    """Remove an item's folder and its rows in case.json and data-list.csv."""
    shutil.rmtree(evidence_dir(bag_dir, evidence_id))
    case_path = bag_dir / "data" / "case.json"
    case = json.loads(case_path.read_text())
    case["evidence"] = [e for e in case["evidence"] if e["id"] != evidence_id]
    case_path.write_text(json.dumps(case, ensure_ascii=False))
    csv_path = bag_dir / "data" / "data-list.csv"
    lines = csv_path.read_bytes().decode().split("\r\n")
    kept = [line for line in lines if evidence_id not in line]
    csv_path.write_bytes("\r\n".join(kept).encode())


def verify_forged(bag_dir: Path, scenario: Scenario) -> BundleReport:
    reseal(bag_dir)
    assert bagit.Bag(str(bag_dir)).is_valid()  # every unsigned check is satisfied
    report = verify_bundle(bag_dir, trusted_key=scenario.verifier)
    assert not report.ok
    return report


def test_attack_item_removed_with_its_entries_and_manifests_rebuilt(
    bundle: Path, scenario: Scenario
) -> None:
    """The item that clears the accused: its folder, rows, every entry naming it (intake,
    views, verification) and the export entry that lists it are all taken out."""
    gone = scenario.evidence_ids[0]
    naming = [e.seq for e in scenario.data.entries if gone in e.canonical.decode()]
    assert naming  # the intake, a view, a verification, the exports
    drop_item(bundle, gone)
    drop_entries(bundle, naming)
    report = verify_forged(bundle, scenario)
    export = scenario.checkpoint.size - 1
    assert_fails_with(
        report,
        f"case chain: the export entry is missing: entry {export}, the last leaf of the signed "
        "checkpoint",
        "case chain: link missing:",
        "an entry of the case after entry",
    )


def test_attack_item_removed_but_export_entry_kept(bundle: Path, scenario: Scenario) -> None:
    gone = scenario.evidence_ids[1]
    intake = entries_of(scenario, "evidence.intake", gone)[0]
    drop_item(bundle, gone)
    drop_entries(bundle, [intake.seq])
    report = verify_forged(bundle, scenario)
    assert_fails_with(
        report,
        f"the export entry lists evidence {gone}, which is missing from the bundle",
        f"the export entry names evidence {gone}, but its INTAKE entry is not in the bundle",
        "case chain: link missing: entry",
    )


def test_attack_case_created_removed(bundle: Path, scenario: Scenario) -> None:
    created = entries_of(scenario, "case.created")[0]
    drop_entries(bundle, [created.seq])
    report = verify_forged(bundle, scenario)
    assert_fails_with(
        report,
        f"follows the case entry with hash {leaf_hash(created.canonical).hex()}, which is not in "
        "the bundle",
        "case chain: the bundle holds no case.created entry for the case — it was removed",
    )


def test_attack_grant_removed(bundle: Path, scenario: Scenario) -> None:
    grant = entries_of(scenario, "grant.created")[0]
    drop_entries(bundle, [grant.seq])
    report = verify_forged(bundle, scenario)
    assert_fails_with(
        report,
        f"case chain: link missing: entry {grant.seq + 1}",
        f"follows the case entry with hash {leaf_hash(grant.canonical).hex()}",
    )


def test_attack_verification_removed(bundle: Path, scenario: Scenario) -> None:
    verification = entries_of(scenario, "evidence.verification")[-1]
    drop_entries(bundle, [verification.seq])
    report = verify_forged(bundle, scenario)
    assert_fails_with(
        report,
        "case chain: link missing:",
        f"follows the case entry with hash {leaf_hash(verification.canonical).hex()}",
    )


def test_attack_export_entry_removed(bundle: Path, scenario: Scenario) -> None:
    export = scenario.checkpoint.size - 1
    drop_entries(bundle, [export])
    report = verify_forged(bundle, scenario)
    assert_fails_with(
        report,
        f"case chain: the export entry is missing: entry {export}, the last leaf of the signed "
        "checkpoint and so the head of the case chain, is not in the bundle — it was removed",
    )


def test_attack_export_entry_replaced_by_an_older_export(bundle: Path, scenario: Scenario) -> None:
    """The latest export and everything after the older one go; case.json points at the older
    export, which is a genuine entry of the case, proven in the same signed tree."""
    older = scenario.earlier_export.seq
    later = [e.seq for e in scenario.data.entries if e.seq > older]
    drop_entries(bundle, later)
    case_path = bundle / "data" / "case.json"
    case = json.loads(case_path.read_text())
    case["export"]["entry"] = older
    case_path.write_text(json.dumps(case, ensure_ascii=False))
    report = verify_forged(bundle, scenario)
    head = scenario.checkpoint.size - 1
    assert_fails_with(
        report,
        f"case chain: the export entry is missing: entry {head}",
        f"data/case.json names export entry {older}, but the signed tree ends at entry {head} "
        "— the export entry was replaced by another export",
    )


def test_attack_entries_of_two_cases_spliced(bundle: Path, scenario: Scenario) -> None:
    """Another case's entry, with a genuine proof in the same signed tree, is slipped in."""
    size = scenario.checkpoint.size
    other = next(e for e in scenario.sealed if e.value()["case"] == OTHER_CASE and e.seq < size - 1)
    ledger = bundle / "data" / "ledger"
    (ledger / "entries" / f"{other.seq:06d}.json").write_bytes(other.canonical)
    entry = bundle_entry(scenario.tree, other, size)
    proofs = {"inclusion": entry.proof.to_json(), "prev": entry.prev_proof.to_json()}  # type: ignore[union-attr]
    (ledger / "proofs" / f"{other.seq:06d}.json").write_bytes(canonical_json(proofs))
    report = verify_forged(bundle, scenario)
    # the entry itself is genuine: only completeness can say it does not belong here
    assert not any(
        f"entries/{other.seq:06d}.json: hash does not match" in line for line in failures(report)
    )
    assert_fails_with(
        report,
        f"case chain: entry {other.seq} ({other.value()['action']}) of case {OTHER_CASE!r} is "
        "not on the case chain",
        "it was added or spliced in",
    )


def test_attack_entries_of_two_cases_spliced_into_the_chain() -> None:
    """A chain whose link leads into another case is named as a splice."""
    from custody.case_chain import CaseEntry, walk_case_chain

    led = _Ledger()
    a = led.append(EntryDraft(actor="x", department="d", action=Action.CASE_CREATED, case="A"))
    b = led.append(EntryDraft(actor="x", department="d", action=Action.CASE_CREATED, case="B"))
    tail = led.append(EntryDraft(actor="x", department="d", action=Action.VIEW, case="A"))
    value = dict(tail.value(), case_prev=b.hash_hex)  # relinked into case B
    entries = [
        CaseEntry(seq=a.seq, hash=a.hash_hex, value=a.value()),
        CaseEntry(seq=b.seq, hash=b.hash_hex, value=b.value()),
        CaseEntry(seq=tail.seq, hash="f" * 64, value=value),
    ]
    walk = walk_case_chain("A", entries, tail.seq)
    assert any("belongs to case 'B', not 'A'" in p and "spliced" in p for p in walk.problems)
    assert any(f"entry {a.seq} (case.created) of case 'A' is not on" in p for p in walk.problems)


def test_bundle_without_content_still_carries_the_whole_chain(
    bare_bundle: Path, scenario: Scenario
) -> None:
    files = sorted(p.name for p in (bare_bundle / "data" / "ledger" / "entries").iterdir())
    ours = [e for e in scenario.sealed if e.value()["case"] == CASE]
    expected = [e for e in ours if e.seq < scenario.checkpoint.size]
    assert files == [f"{e.seq:06d}.json" for e in expected]
    assert not any(
        OTHER_CASE in (bare_bundle / "data" / "ledger" / "entries" / f).read_text() for f in files
    )
    report = verify_bundle(bare_bundle, trusted_key=scenario.verifier)
    assert report.ok, failures(report)
    chain = next(c for c in report.checks if c.item == "case chain")
    assert f"all {len(expected)} entries of case {CASE} are linked by case_prev" in chain.message


def test_writer_refuses_an_incomplete_chain(scenario: Scenario, tmp_path: Path) -> None:
    grant = entries_of(scenario, "grant.created")[0]
    entries = [e for e in scenario.data.entries if e.seq != grant.seq]
    with pytest.raises(BundleError, match="not the case's whole chain: link missing"):
        write_bundle(replace(scenario.data, entries=entries), tmp_path / "b", with_content=False)
    assert not (tmp_path / "b").exists()


def test_writer_refuses_a_checkpoint_that_does_not_end_at_the_export(
    scenario: Scenario, tmp_path: Path
) -> None:
    size = scenario.checkpoint.size + 1  # one more entry (of the other case) signed after
    note = sign_checkpoint(
        Checkpoint(origin=ORIGIN, size=size, root=scenario.tree.root(size)), scenario.key
    )
    entries = [
        bundle_entry(scenario.tree, e, size)
        for e in scenario.sealed[:size]
        if e.value()["case"] == CASE
    ]
    data = replace(scenario.data, entries=entries, checkpoint_note=note)
    with pytest.raises(BundleError, match="head of the case chain"):
        write_bundle(data, tmp_path / "b", with_content=False)


def test_attack_bundle_pdf_resigned_with_another_certificate(
    bundle: Path, scenario: Scenario
) -> None:
    forger = generate_certificate("custody.example report signer")  # same name
    ev = scenario.evidence_ids[0]
    d = evidence_dir(bundle, ev)
    raw = (d / "report.json").read_bytes()
    report = parse_report(raw)
    unsigned = render_pdf(
        report,
        report_hash=report_hash(report),
        signature=(d / "report.json.sig").read_text(),
        canonical=raw,
        signer=forger,
    )
    (d / "report.pdf").write_bytes(sign_pdf(unsigned, forger, reason="forged"))
    reseal(bundle)
    result = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        result,
        f"evidence/{ev}/report.pdf: the PDF was re-signed with another certificate: signed by "
        f"{forger.sha256}",
        f"not the bundled report certificate {REPORT_CERT.sha256}",
    )


def test_attack_bundle_report_certificate_swapped(bundle: Path, scenario: Scenario) -> None:
    forger = generate_certificate("custody.example report signer")
    (bundle / "data" / "ledger" / "report-certificate.pem").write_text(forger.pem())
    reseal(bundle)
    result = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        result, f"data/ledger/report-certificate.pem: its fingerprint {forger.sha256} differs"
    )
