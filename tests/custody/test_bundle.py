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

from api.render import render_html, render_pdf
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
from custody.merkle import InclusionProof, MemoryTree
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

    @property
    def verifier(self) -> VerifierKey:
        return self.key.verifier()


class _Ledger:
    def __init__(self) -> None:
        self.tree = MemoryTree()
        self.sealed: list[SealedEntry] = []

    def append(self, draft: EntryDraft) -> SealedEntry:
        seq = len(self.sealed)
        prev = self.sealed[-1].hash_hex if self.sealed else GENESIS_PREV
        entry = seal_entry(draft, seq=seq, prev=prev, time=T0 + timedelta(minutes=7 * seq))
        self.sealed.append(entry)
        self.tree.append(entry.hash)
        return entry


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
    verif = [
        led.append(draft(pros, Action.VERIFICATION, CASE, ev, purpose="庭前核验", result="pass"))
        for ev in ids
    ]
    led.append(draft(("zhao.lei", "经侦"), Action.DOWNLOAD, OTHER_CASE, "other-ev", purpose="y"))
    export = led.append(
        draft(pros, Action.EXPORT, CASE, None, purpose="移送法院 / to the court", evidence=ids)
    )
    led.append(draft(("zhao.lei", "经侦"), Action.VIEW, OTHER_CASE, "other-ev", purpose="z"))

    size = led.tree.size
    checkpoint = Checkpoint(origin=ORIGIN, size=size, root=led.tree.root())
    note = sign_checkpoint(checkpoint, key)
    ours = [e for e in led.sealed if e.value()["case"] == CASE]

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
        raw = report_bytes(report)
        evidence.append(
            BundleEvidence(
                id=ev,
                file_name=names[i],
                content_type="application/octet-stream",
                category=("手机镜像 / phone image", "聊天记录 / chat export")[i],
                size=len(data),
                digests=_digests(data),
                seal_no=f"FC-{ev[:4]}",
                description=descriptions[i],
                intake_time=intakes[i].value()["time"],
                technician="li.wei",
                report_json=raw,
                report_signature=sign_report(raw, key),
                report_html=render_html(report, report_hash=report_hash(report)),
                report_pdf=render_pdf(report, report_hash=report_hash(report)),
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
    )
    return Scenario(key, data, content_dir, led.tree, led.sealed, checkpoint, ids)


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
    assert csv_text.startswith("序号/Item,类别/Category,文件名/File name")
    assert scenario.data.evidence[0].digests["sha256"] in csv_text
    readme_en, readme_zh = (
        (data / "README.en.txt").read_text(),
        (data / "README.zh.txt").read_text(),
    )
    for text in (readme_en, readme_zh):
        assert "sha256sum -c SHA256SUMS" in text and "b3sum -c B3SUMS" in text
        assert "(printf '\\0'; cat ledger/entries/000012.json) | sha256sum" in text
        assert "custody verify-bundle" in text


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
    from custody.bundle import _decode_manifest_path, _encode_manifest_path

    for path in ("data/a%b.txt", "data/line\nbreak\r.txt", "data/%0A literal", "data/ok.txt"):
        encoded = _encode_manifest_path(path)
        assert "\n" not in encoded and "\r" not in encoded
        assert _decode_manifest_path(encoded) == path
    assert _encode_manifest_path("data/100%.txt") == "data/100%25.txt"
    assert _decode_manifest_path("data/x%0d%0a") == "data/x\r\n"


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
        new = replace(old, ledger=ledger_part)
        (d / "report.json").write_bytes(report_bytes(new))
        (d / "report.json.sig").write_text(sign_report(report_bytes(new), forger))
        (d / "report.html").write_text(render_html(new, report_hash=report_hash(new)))
        item["report_hash"] = report_hash(new)
    case_path.write_text(json.dumps(case, ensure_ascii=False))
    reseal(bundle)
    # internally consistent: it verifies against its own key
    assert verify_bundle(bundle, trusted_key=forger.verifier()).ok
    report = verify_bundle(bundle, trusted_key=scenario.verifier)
    assert_fails_with(
        report,
        "data/ledger/checkpoint.txt: signature does not verify with the trusted key",
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
    assert_fails_with(report, f"the EXPORT entry lists evidence {gone}, which is missing")


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
        led.sealed.append(e)
        led.tree.append(e.hash)
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
        time=T0 + timedelta(hours=3),
    )
    led.sealed.append(forged)
    led.tree.append(forged.hash)
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
    out = write_bundle(replace(scenario.data, evidence=[]), tmp_path / "b", with_content=False)
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
