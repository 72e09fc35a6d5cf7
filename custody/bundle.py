"""Court bundles: a BagIt bag (RFC 8493) a court can check offline, with or without us.

:func:`write_bundle` lays out the case's reports, ledger entries, proofs and signed
checkpoint (and optionally the evidence content) as a bag with ``SHA256SUMS``/``B3SUMS`` and
a bilingual README, writing to a temporary sibling and renaming it into place at the end.
It checks what it is given before it writes (signatures, proofs, digests: verify, then
persist) and streams content in 1 MiB chunks, hashing each byte once.

:func:`verify_bundle` re-checks everything against one *trusted* verifier key and reports
every item, continuing after failures, so a court sees all that was changed at once. It
uses only this package and its pure dependencies; BagIt is read and written here, not with
the ``bagit`` library (the tests prove ``bagit.py --validate`` accepts our bags).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from custody.canonical import canonical_json
from custody.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from custody.digests import CHUNK_SIZE, MultiHasher
from custody.errors import BundleError, CustodyError
from custody.ledger import ENTRY_FIELDS, GENESIS_PREV, Action
from custody.merkle import (
    InclusionProof,
    leaf_hash,
    parse_consistency_proof,
    parse_inclusion_proof,
)
from custody.report import (
    DataListRow,
    VerificationReport,
    data_list_csv,
    parse_data_list_csv,
    parse_report,
    verify_report_signature,
)

BUNDLE_FORMAT = "evidence-custody court bundle"
BUNDLE_FORMAT_VERSION = 1
BAGIT_VERSION = "1.0"
SOFTWARE_AGENT = "evidence-custody custody.bundle (format 1)"
FALLBACK_CONTENT_NAME = "content.bin"
SUMS_FILES = ("SHA256SUMS", "B3SUMS")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ENTRY_NAME = re.compile(r"([0-9]{6,})\.json")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HASHLIB_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_MAX_NAME_BYTES = 200


# --- inputs ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BundleEvidence:
    """One evidence item as exported: its facts, its signed report and renderings."""

    id: str
    file_name: str
    content_type: str
    category: str
    size: int
    digests: dict[str, str]
    seal_no: str | None
    description: str
    intake_time: str
    technician: str
    report_json: bytes
    report_signature: str
    report_html: str
    report_pdf: bytes
    content_path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class BundleEntry:
    """A ledger entry, its inclusion proof, and the proof of leaf ``seq-1`` (its prev link)."""

    seq: int
    canonical: bytes
    proof: InclusionProof
    prev_proof: InclusionProof | None = None


@dataclass(frozen=True, kw_only=True)
class BundleInput:
    """Everything a bundle holds, gathered by the caller (the server's export)."""

    case_number: str
    case_title: str
    case_classification: str
    exported_at: str
    exported_by: str
    exported_by_department: str
    purpose: str
    evidence: list[BundleEvidence]
    entries: list[BundleEntry]
    checkpoint_note: str
    verifier_key: str
    consistency: dict[str, Any] | None = None


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Check:
    """One verified item: OK, FAIL, or SKIPPED (counts as ok, but nothing was checked)."""

    item: str
    ok: bool
    message: str
    skipped: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIPPED"
        return "OK" if self.ok else "FAIL"

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "status": self.status, "ok": self.ok, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class BundleReport:
    """Every check :func:`verify_bundle` made, in order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and bool(self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def skipped(self) -> list[Check]:
        return [c for c in self.checks if c.skipped]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": len(self.checks),
            "failed": len(self.failures),
            "skipped": len(self.skipped),
            "checks": [c.to_json() for c in self.checks],
        }


# --- small shared pieces ---------------------------------------------------------------


def safe_file_name(name: str) -> str:
    """The basename with ``/``, ``\\``, NUL and other control characters removed.

    ``%`` becomes the full-width ``％``: RFC 8493 percent-encodes ``%`` in manifests but
    bagit-python (``bagit.py --validate``) does not decode it, so a bag path with ``%`` cannot
    satisfy both; with no ``%``, CR or LF in any path, every BagIt tool reads our manifests
    alike. Falls back to ``content.bin`` when nothing usable is left; over-long names keep
    their extension and are cut to 200 UTF-8 bytes.
    """
    base = re.split(r"[/\\]", name)[-1] if name else ""
    base = "".join(c for c in base if ord(c) >= 0x20 and ord(c) != 0x7F).replace("%", "\uff05")
    if base in ("", ".", ".."):
        return FALLBACK_CONTENT_NAME
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        if not dot or len(ext.encode("utf-8")) > 20:
            stem, ext = base, ""
        suffix = f".{ext}" if ext else ""
        budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        base = (cut or "content") + suffix
    return base


def _check_id(evidence_id: str) -> str:
    if not isinstance(evidence_id, str) or not _SAFE_ID.fullmatch(evidence_id):
        raise BundleError(
            f"evidence id {evidence_id!r} cannot name a folder: use letters, digits, '.', '_', '-'"
        )
    return evidence_id


def _encode_manifest_path(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode %, CR and LF in manifest file paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


_PERCENT = re.compile(r"%(0[aAdD]|25)")


def _decode_manifest_path(path: str) -> str:
    return _PERCENT.sub(lambda m: {"0a": "\n", "0d": "\r", "25": "%"}[m.group(1).lower()], path)


def _sums_line(digest: str, path: str) -> str:
    """coreutils ``<hex>  <path>``; names with \\ or newline are escaped as coreutils does."""
    if "\\" in path or "\n" in path or "\r" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {path}\n"


_SUMS_LINE = re.compile(r"(\\?)([0-9a-fA-F]+) [ *](.+)")


def _parse_sums_line(line: str) -> tuple[str, str] | None:
    m = _SUMS_LINE.fullmatch(line)
    if m is None:
        return None
    escaped, digest, path = m.groups()
    if escaped:
        path = re.sub(
            r"\\(.)", lambda x: {"n": "\n", "r": "\r", "\\": "\\"}.get(x.group(1), x.group(0)), path
        )
    return digest.lower(), path


def _tag_value(text: str) -> str:
    """Tag values are one line: line breaks and tabs become spaces."""
    return " ".join(text.replace("\r", " ").replace("\n", " ").replace("\t", " ").split())


def _parse_tag_file(text: str) -> list[tuple[str, str]]:
    """``Label: value`` lines with RFC 8493 continuation lines (leading whitespace)."""
    tags: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and tags:
            label, value = tags[-1]
            tags[-1] = (label, f"{value} {line.strip()}")
            continue
        label, sep, value = line.partition(":")
        if not sep:
            raise BundleError(f"tag line {line!r} has no ':'")
        tags.append((label.strip(), value.strip()))
    return tags


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Written:
    size: int
    sha256: str
    blake3: str


class _BagWriter:
    """Writes files under a bag root, remembering each payload file's size and digests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.payload: dict[str, _Written] = {}  # "data/…" → digests

    def _target(self, rel: str) -> Path:
        target = self.root.joinpath(*PurePosixPath(rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, rel: str, data: bytes) -> _Written:
        target = self._target(rel)
        with target.open("xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with MultiHasher(("sha256",)) as hasher:
            hasher.update(data)
            digests = hasher.hexdigests()
        written = _Written(len(data), digests["sha256"], digests["blake3"])
        if rel.startswith("data/"):
            self.payload[rel] = written
        return written

    def copy(self, rel: str, source: Path, progress: Callable[[int], None] | None) -> _Written:
        """Stream ``source`` into the bag in 1 MiB chunks, hashing every byte once."""
        target = self._target(rel)
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        with (
            MultiHasher(("sha256",)) as hasher,
            source.open("rb", buffering=0) as src,
            target.open("xb") as dst,
        ):
            while True:
                n = src.readinto(view)
                if not n:
                    break
                hasher.update(view[:n])
                dst.write(view[:n])
                if progress is not None:
                    progress(n)
            dst.flush()
            os.fsync(dst.fileno())
            digests = hasher.hexdigests()
            written = _Written(hasher.size, digests["sha256"], digests["blake3"])
        self.payload[rel] = written
        return written


def _readme_en(data: BundleInput, checkpoint: Checkpoint, with_content: bool) -> str:
    content = (
        "The evidence content is included under evidence/<id>/content/."
        if with_content
        else "The evidence content is NOT included; check your own copy (step 2) or run the "
        "verifier with --content-dir DIR."
    )
    return f"""Court bundle (BagIt, RFC 8493) — case {data.case_number}
Case title: {data.case_title}
Classification: {data.case_classification}
Exported at {data.exported_at} by {data.exported_by} ({data.exported_by_department})
Purpose: {data.purpose}
Signed ledger checkpoint: origin {checkpoint.origin}, tree size {checkpoint.size}
Verifier key named in this bundle (informational): {data.verifier_key.strip()}
  Obtain the lab's verifier key through an independent channel (its published key, a court
  filing) and check against that key: anyone can re-sign a bundle with a key of their own.
{content}

Everything below can be checked without this software.

1. Is the bag complete and unchanged?
     bagit.py --validate BUNDLE         (or: sha256sum each file in manifest-sha256.txt)
     cd BUNDLE/data && sha256sum -c SHA256SUMS && b3sum -c B3SUMS
   SHA256SUMS and B3SUMS list every other file in data/ in coreutils format.

2. Does the evidence match the check values recorded at intake?
   data-list.csv (电子数据清单, the data list) and each evidence/<id>/report.json give the
   SHA-256 and BLAKE3 values recorded at intake. Hash the content and compare:
     sha256sum FILE ; b3sum FILE

3. Is each report authentic?
   evidence/<id>/report.json is the report exactly as signed (RFC 8785 canonical JSON).
   report.json.sig holds one line "<key name> <base64(4-byte key id || 64-byte Ed25519
   signature)>" over exactly the bytes of report.json, made with the ledger's key.
   report.html and report.pdf show the same report and print its hash:
     sha256sum evidence/<id>/report.json

4. Is each custody ledger entry genuine and in the signed ledger?
   ledger/entries/NNNNNN.json are the entries exactly as hashed. The entry hash is the
   RFC 9162 leaf hash, SHA-256(0x00 || entry bytes):
     (printf '\\0'; cat ledger/entries/000012.json) | sha256sum
   ledger/checkpoint.txt is a C2SP signed note: three lines (origin, tree size, base64 root
   hash), a blank line, then signature lines "— <key name> <base64(4-byte key id ||
   Ed25519 signature of the three lines)>". The key id is the first 4 bytes of
   SHA-256(key name || 0x0A || 0x01 || public key); the verifier key is written
   "name+keyid+base64(0x01 || public key)". Any C2SP / Go sumdb note verifier checks it.
   In ledger/proofs/NNNNNN.json, "inclusion" is the RFC 9162 inclusion proof of the entry
   hash (leaf_index = seq) in the tree of the checkpoint's size: hashing up the path with
   node = SHA-256(0x01 || left || right) must give the checkpoint's root hash.

5. Is the order of the entries proven, without revealing other cases?
   Each entry carries "prev", the hash of the ledger entry just before it (64 zeros for
   entry 0). That entry usually belongs to another case and is not in this bundle. Instead,
   "prev" in the proof file is the inclusion proof of leaf seq-1 in the same signed tree,
   with the entry's "prev" value as the leaf hash. If it verifies, the entry really follows
   entry seq-1 of the signed ledger; a forged prev link cannot verify.

6. Everything at once, with the project's offline verifier (needs only its custody package):
     custody verify-bundle BUNDLE --trusted-key 'name+keyid+key' [--content-dir DIR]
   It prints OK / FAIL per item, names what was changed, and exits 1 on any failure.

Contents
  bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt   BagIt files
  data/README.zh.txt, data/README.en.txt   this guide (Chinese, English)
  data/SHA256SUMS, data/B3SUMS             check values of every other file in data/
  data/case.json                           the case, the export (who, when, why), the items
  data/data-list.csv                       电子数据清单 / data list with check values
  data/evidence/<id>/report.json           signed verification report (+ .sig, .html, .pdf)
  data/evidence/<id>/content/<file>        the evidence itself, when exported with content
  data/ledger/entries/, data/ledger/proofs/, data/ledger/checkpoint.txt,
  data/ledger/verifier-key.txt             the custody ledger extract and its proofs
"""


def _readme_zh(data: BundleInput, checkpoint: Checkpoint, with_content: bool) -> str:
    content = (
        "检材内容已包含在 evidence/<编号>/content/ 目录中。"
        if with_content
        else "本数据包不含检材内容；请按第 2 步核验您持有的副本，或运行核验程序时加 "
        "--content-dir 目录。"
    )
    return f"""移交法院数据包（BagIt 格式，RFC 8493）— 案件 {data.case_number}
案件名称：{data.case_title}
密级：{data.case_classification}
导出时间：{data.exported_at}，导出人：{data.exported_by}（{data.exported_by_department}）
导出事由：{data.purpose}
签名检查点：来源 {checkpoint.origin}，树大小 {checkpoint.size}
本数据包中附带的验证公钥（仅供参考）：{data.verifier_key.strip()}
  请通过独立渠道（本单位公布的公钥、向法院提交的材料）取得验证公钥，并以该公钥核验：
  任何人都可以用自己的密钥重新签名一个数据包。
{content}

以下各项均可不借助本软件独立核验。

1. 数据包是否完整、未被改动？
     bagit.py --validate 数据包目录      （或用 sha256sum 逐一核对 manifest-sha256.txt）
     cd 数据包目录/data && sha256sum -c SHA256SUMS && b3sum -c B3SUMS
   SHA256SUMS 与 B3SUMS 按 coreutils 格式列出 data/ 下其余每个文件的校验值。

2. 检材内容是否与提取时记录的校验值一致？
   data-list.csv（电子数据清单）和各 evidence/<编号>/report.json 记载了提取时计算的
   SHA-256 与 BLAKE3 校验值。计算检材的校验值并比对：
     sha256sum 文件 ; b3sum 文件

3. 核验报告是否真实？
   evidence/<编号>/report.json 是签名时的报告原文（RFC 8785 规范化 JSON）。
   report.json.sig 为一行文字："<密钥名称> <base64(4 字节密钥标识 || 64 字节 Ed25519
   签名)>"，签名对象正是 report.json 的全部字节，所用密钥与账本检查点相同。
   report.html 与 report.pdf 为同一报告的可读版本，并印有报告哈希：
     sha256sum evidence/<编号>/report.json

4. 每条保管记录（账本条目）是否真实、是否在已签名的账本中？
   ledger/entries/NNNNNN.json 为条目原始字节。条目哈希为 RFC 9162 叶哈希，
   即 SHA-256(0x00 || 条目字节)：
     (printf '\\0'; cat ledger/entries/000012.json) | sha256sum
   ledger/checkpoint.txt 为 C2SP 签名注记：三行正文（来源、树大小、base64 根哈希）、
   一个空行，随后为签名行"— <密钥名称> <base64(4 字节密钥标识 || 对三行正文的 Ed25519
   签名)>"。密钥标识为 SHA-256(密钥名称 || 0x0A || 0x01 || 公钥) 的前 4 字节；验证公钥
   写作"名称+密钥标识+base64(0x01 || 公钥)"。任何 C2SP / Go sumdb 注记验证程序均可核验。
   ledger/proofs/NNNNNN.json 中 "inclusion" 为该条目哈希（leaf_index = 序号）在该树大小
   下的 RFC 9162 包含证明：按 节点 = SHA-256(0x01 || 左 || 右) 逐级计算，结果应等于
   检查点中的根哈希。

5. 条目的先后顺序如何在不泄露其他案件的情况下得到证明？
   每个条目的 "prev" 字段为前一条目（序号减一）的哈希（第 0 条为 64 个 0）。前一条目通常
   属于其他案件，不在本数据包中；证明文件中的 "prev" 是第 seq-1 号叶子在同一签名树中的
   包含证明，其叶哈希即本条目的 "prev" 值。证明成立，即证明本条目确实紧随已签名账本中的
   第 seq-1 号条目；伪造的 prev 链接无法通过验证。

6. 使用本项目的离线核验程序一次完成上述全部核验（只需 custody 包）：
     custody verify-bundle 数据包目录 --trusted-key '名称+密钥标识+公钥' [--content-dir 目录]
   逐项输出 OK / FAIL，指明被改动的内容；任何一项失败，退出码为 1。

目录说明
  bagit.txt、bag-info.txt、manifest-sha256.txt、tagmanifest-sha256.txt   BagIt 文件
  data/README.zh.txt、data/README.en.txt   本说明（中文、英文）
  data/SHA256SUMS、data/B3SUMS             data/ 下其余每个文件的校验值
  data/case.json                           案件信息、导出信息（何人、何时、何事由）、检材清单
  data/data-list.csv                       电子数据清单（含校验值）
  data/evidence/<编号>/report.json         签名的核验报告（及 .sig、.html、.pdf）
  data/evidence/<编号>/content/<文件>      检材内容（仅在导出时选择包含内容时）
  data/ledger/entries/、data/ledger/proofs/、data/ledger/checkpoint.txt、
  data/ledger/verifier-key.txt             保管账本摘录及其证明
"""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BundleError(message)


def _check_input(data: BundleInput) -> tuple[Checkpoint, VerifierKey]:
    """Verify, then persist: refuse inputs whose proofs or signatures do not hold."""
    try:
        verifier = VerifierKey.from_text(data.verifier_key)
        checkpoint = open_checkpoint(data.checkpoint_note, [verifier])
    except CustodyError as e:
        raise BundleError(f"the checkpoint does not verify with the given key: {e}") from e
    seqs = [e.seq for e in data.entries]
    _require(len(set(seqs)) == len(seqs), "the same ledger entry is listed twice")
    values: dict[int, Mapping[str, Any]] = {}
    for entry in data.entries:
        try:
            value = json.loads(entry.canonical)
        except (ValueError, UnicodeDecodeError) as e:
            raise BundleError(f"ledger entry {entry.seq} is not JSON: {e}") from e
        _require(
            isinstance(value, dict) and canonical_json(value) == entry.canonical,
            f"ledger entry {entry.seq} is not a canonical JSON object",
        )
        _require(value.get("seq") == entry.seq, f"ledger entry {entry.seq} carries another seq")
        try:
            _require(
                entry.proof.leaf_index == entry.seq, f"proof of {entry.seq} is for another leaf"
            )
            _require(
                entry.proof.tree_size == checkpoint.size,
                f"proof of entry {entry.seq} is not for the checkpoint's tree size",
            )
            entry.proof.verify(leaf_hash=leaf_hash(entry.canonical), root=checkpoint.root)
            if entry.seq == 0:
                _require(value.get("prev") == GENESIS_PREV, "entry 0 must have the genesis prev")
            else:
                prev = entry.prev_proof
                _require(prev is not None, f"entry {entry.seq} has no prev proof")
                assert prev is not None
                _require(
                    prev.leaf_index == entry.seq - 1 and prev.tree_size == checkpoint.size,
                    f"prev proof of entry {entry.seq} is not for leaf {entry.seq - 1}",
                )
                prev.verify(leaf_hash=bytes.fromhex(str(value.get("prev"))), root=checkpoint.root)
        except (CustodyError, ValueError) as e:
            raise BundleError(f"ledger entry {entry.seq} is not proven: {e}") from e
        values[entry.seq] = value
    ids = [_check_id(ev.id) for ev in data.evidence]
    _require(len(set(ids)) == len(ids), "the same evidence item is listed twice")
    for ev in data.evidence:
        try:
            verify_report_signature(ev.report_json, ev.report_signature, [verifier])
            report = parse_report(ev.report_json)
        except CustodyError as e:
            raise BundleError(f"report of {ev.id}: {e}") from e
        _require(
            canonical_json(json.loads(ev.report_json)) == ev.report_json,
            f"report of {ev.id} is not canonical JSON",
        )
        _require(report.evidence_id == ev.id, f"report of {ev.id} is about another item")
        _require(
            report.recorded_digests() == ev.digests and report.size_recorded == ev.size,
            f"report of {ev.id} records other digests or size than the evidence",
        )
        _require({"sha256", "blake3"} <= set(ev.digests), f"{ev.id} lacks sha256 or blake3")
        intake = [
            v
            for v in values.values()
            if v.get("evidence") == ev.id and v.get("action") == str(Action.INTAKE)
        ]
        _require(bool(intake), f"the INTAKE ledger entry of {ev.id} is not among the entries")
        details = intake[0].get("details") or {}
        _require(
            details.get("digests") == ev.digests,
            f"the INTAKE entry of {ev.id} records other digests than the evidence",
        )
    return checkpoint, verifier


def write_bundle(
    data: BundleInput,
    out_dir: Path,
    *,
    with_content: bool,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the bag at ``out_dir`` (absent or empty); return it. Raises BundleError.

    With ``with_content``, each item's ``content_path`` is copied in (and checked against
    its recorded digests); an item without one (e.g. disposed) is bundled without content.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BundleError(f"{out_dir} is not empty; choose a new folder for the bundle")
    checkpoint, _ = _check_input(data)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        _write_bag(data, tmp, checkpoint, with_content=with_content, progress=progress)
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.rename(tmp, out_dir)
        _fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _write_bag(
    data: BundleInput,
    root: Path,
    checkpoint: Checkpoint,
    *,
    with_content: bool,
    progress: Callable[[int], None] | None,
) -> None:
    bag = _BagWriter(root)
    bag.write("data/README.zh.txt", _readme_zh(data, checkpoint, with_content).encode())
    bag.write("data/README.en.txt", _readme_en(data, checkpoint, with_content).encode())

    items: list[dict[str, Any]] = []
    rows: list[DataListRow] = []
    for number, ev in enumerate(sorted(data.evidence, key=lambda e: e.id), start=1):
        base = f"evidence/{ev.id}"
        bag.write(f"data/{base}/report.json", ev.report_json)
        bag.write(f"data/{base}/report.json.sig", ev.report_signature.encode())
        bag.write(f"data/{base}/report.html", ev.report_html.encode())
        bag.write(f"data/{base}/report.pdf", ev.report_pdf)
        content_rel: str | None = None
        if with_content and ev.content_path is not None:
            content_rel = f"{base}/content/{safe_file_name(ev.file_name)}"
            written = bag.copy(f"data/{content_rel}", Path(ev.content_path), progress)
            if (
                written.size != ev.size
                or written.sha256 != ev.digests["sha256"]
                or written.blake3 != ev.digests["blake3"]
            ):
                raise BundleError(
                    f"content of {ev.id} ({ev.content_path}) does not match its recorded "
                    "digests; refusing to export a copy that differs from the evidence"
                )
        items.append(
            {
                "item": number,
                "id": ev.id,
                "file_name": ev.file_name,
                "content_type": ev.content_type,
                "category": ev.category,
                "size": ev.size,
                "digests": dict(ev.digests),
                "seal_no": ev.seal_no,
                "description": ev.description,
                "intake_time": ev.intake_time,
                "technician": ev.technician,
                "report": f"{base}/report.json",
                "report_hash": hashlib.sha256(ev.report_json).hexdigest(),
                "content": content_rel,
            }
        )
        rows.append(
            DataListRow(
                item=number,
                category=ev.category,
                file_name=ev.file_name,
                format=ev.content_type,
                size=ev.size,
                sha256=ev.digests["sha256"],
                blake3=ev.digests["blake3"],
                other={k: v for k, v in ev.digests.items() if k not in ("sha256", "blake3")},
            )
        )

    entries = sorted(data.entries, key=lambda e: e.seq)
    for entry in entries:
        name = f"{entry.seq:06d}.json"
        bag.write(f"data/ledger/entries/{name}", entry.canonical)
        proofs = {
            "inclusion": entry.proof.to_json(),
            "prev": entry.prev_proof.to_json() if entry.prev_proof is not None else None,
        }
        bag.write(f"data/ledger/proofs/{name}", canonical_json(proofs))
    bag.write("data/ledger/checkpoint.txt", data.checkpoint_note.encode())
    bag.write("data/ledger/verifier-key.txt", (data.verifier_key.strip() + "\n").encode())
    if data.consistency is not None:
        bag.write("data/ledger/consistency.json", canonical_json(data.consistency))

    case = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "case": {
            "number": data.case_number,
            "title": data.case_title,
            "classification": data.case_classification,
        },
        "export": {
            "exported_at": data.exported_at,
            "exported_by": data.exported_by,
            "department": data.exported_by_department,
            "purpose": data.purpose,
            "with_content": with_content,
        },
        "checkpoint": {
            "origin": checkpoint.origin,
            "tree_size": checkpoint.size,
            "file": "ledger/checkpoint.txt",
        },
        "verifier_key": data.verifier_key.strip(),
        "entries": [e.seq for e in entries],
        "consistency": "ledger/consistency.json" if data.consistency is not None else None,
        "evidence": items,
    }
    bag.write("data/case.json", _json_bytes(case))
    bag.write("data/data-list.csv", data_list_csv(rows).encode())

    listed = sorted(bag.payload.items())
    sha_lines = [_sums_line(w.sha256, rel.removeprefix("data/")) for rel, w in listed]
    b3_lines = [_sums_line(w.blake3, rel.removeprefix("data/")) for rel, w in listed]
    bag.write("data/SHA256SUMS", "".join(sha_lines).encode())
    bag.write("data/B3SUMS", "".join(b3_lines).encode())

    manifest = "".join(
        f"{w.sha256}  {_encode_manifest_path(rel)}\n" for rel, w in sorted(bag.payload.items())
    )
    octets = sum(w.size for w in bag.payload.values())
    external = (
        f"Court bundle of case {data.case_number} ({data.case_title}); "
        f"purpose: {data.purpose}; exported at {data.exported_at} by {data.exported_by}"
    )
    info = [
        ("Source-Organization", data.exported_by_department),
        ("Contact-Name", data.exported_by),
        ("External-Description", external),
        ("External-Identifier", data.case_number),
        ("Bagging-Date", data.exported_at[:10]),
        ("Payload-Oxum", f"{octets}.{len(bag.payload)}"),
        ("Bag-Software-Agent", SOFTWARE_AGENT),
    ]
    tags = {
        "bagit.txt": f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": "".join(f"{k}: {_tag_value(v)}\n" for k, v in info),
        "manifest-sha256.txt": manifest,
    }
    tag_lines = []
    for name, text in tags.items():
        written = bag.write(name, text.encode())
        tag_lines.append(f"{written.sha256}  {name}\n")
    bag.write("tagmanifest-sha256.txt", "".join(sorted(tag_lines)).encode())
    for directory, _, _ in os.walk(root):
        _fsync_dir(Path(directory))


# --- verifying -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hashed:
    size: int
    sha256: str
    blake3: str


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _hash_path(path: Path) -> _Hashed:
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with MultiHasher(("sha256",)) as hasher, path.open("rb", buffering=0) as f:
        while True:
            n = f.readinto(view)
            if not n:
                break
            hasher.update(view[:n])
        digests = hasher.hexdigests()
        return _Hashed(hasher.size, digests["sha256"], digests["blake3"])


def _safe_rel(path: str) -> bool:
    """A relative POSIX path that stays inside its base: no '..', no absolute, no empty part."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    parts = path.split("/")
    return all(p not in ("", ".", "..") for p in parts)


class _Verifier:
    def __init__(self, root: Path, trusted: VerifierKey, content_dir: Path | None) -> None:
        self.root = root
        self.trusted = trusted
        self.trusted_text = trusted.to_text()
        self.content_dir = content_dir
        self.checks: list[Check] = []
        self._hashes: dict[str, _Hashed] = {}
        self.payload: list[str] = []  # "data/…" regular files on disk
        self.checkpoint: Checkpoint | None = None
        self.entries: dict[int, tuple[bytes, dict[str, Any]]] = {}
        self.case: dict[str, Any] | None = None
        self.data_list: list[DataListRow] | None = None
        self.reports: dict[str, VerificationReport] = {}

    # bookkeeping

    def ok(self, item: str, message: str) -> None:
        self.checks.append(Check(item=item, ok=True, message=message))

    def fail(self, item: str, message: str) -> None:
        self.checks.append(Check(item=item, ok=False, message=message))

    def skip(self, item: str, message: str) -> None:
        self.checks.append(Check(item=item, ok=True, message=message, skipped=True))

    @contextmanager
    def guard(self, item: str) -> Iterator[None]:
        """Any unexpected error in one step becomes a FAIL of that item, and we go on."""
        try:
            yield
        except (CustodyError, OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            message = e.message if isinstance(e, CustodyError) else f"{type(e).__name__}: {e}"
            self.fail(item, f"{item}: could not be checked: {message}")

    def path(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def read(self, rel: str) -> bytes | None:
        path = self.path(rel)
        if not _is_regular(path):
            return None
        return path.read_bytes()

    def hashed(self, rel: str) -> _Hashed | None:
        if rel not in self._hashes:
            path = self.path(rel)
            if not _is_regular(path):
                return None
            self._hashes[rel] = _hash_path(path)
        return self._hashes[rel]

    # the steps

    def run(self) -> None:
        if not self.root.is_dir():
            self.fail(str(self.root), f"{self.root}: not a folder; give the bundle's folder")
            return
        for step in (
            self.walk_payload,
            self.check_bag,
            self.check_sums,
            self.check_case,
            self.check_checkpoint,
            self.check_entries,
            self.check_reports,
            self.check_export,
            self.check_content,
            self.check_consistency,
        ):
            with self.guard(step.__name__.removeprefix("check_").removeprefix("walk_")):
                step()

    def walk_payload(self) -> None:
        data = self.path("data")
        if not data.is_dir():
            self.fail("data/", "the bag has no data/ folder")
            return
        for directory, dirs, files in os.walk(data):
            base = Path(directory)
            for name in sorted(dirs):
                if (base / name).is_symlink():
                    rel = (base / name).relative_to(self.root).as_posix()
                    self.fail(rel, f"{rel}: a symbolic link in the bag; refusing to follow it")
            for name in sorted(files):
                path = base / name
                rel = path.relative_to(self.root).as_posix()
                if _is_regular(path):
                    self.payload.append(rel)
                else:
                    self.fail(rel, f"{rel}: not a regular file (link or device) in the bag")
        self.payload.sort()

    def _manifest(self, name: str, *, tag: bool) -> dict[str, str] | None:
        raw = self.read(name)
        if raw is None:
            return None
        entries: dict[str, str] = {}
        for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            m = re.fullmatch(r"(\S+)[ \t]+(.+)", line)
            if m is None:
                self.fail(name, f"{name}: line {number} is not '<digest> <path>'")
                continue
            digest, rel = m.group(1).lower(), _decode_manifest_path(m.group(2))
            inside = not rel.startswith("data/") if tag else rel.startswith("data/")
            if not _safe_rel(rel) or not inside:
                where = "a tag file" if tag else "a file under data/"
                self.fail(name, f"{name}: line {number} names {rel!r}, which is not {where}")
                continue
            entries[rel] = digest
        return entries

    def _file_digest(self, rel: str, algorithm: str) -> str | None:
        if algorithm == "sha256":
            h = self.hashed(rel)
            return h.sha256 if h else None
        path = self.path(rel)
        if not _is_regular(path):
            return None
        digest = hashlib.new(algorithm)
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def _check_manifest(self, name: str, algorithm: str, *, tag: bool) -> None:
        listed = self._manifest(name, tag=tag)
        if listed is None:
            self.fail(name, f"file deleted from the bag: {name}")
            return
        problems = 0
        for rel, want in sorted(listed.items()):
            got = self._file_digest(rel, algorithm)
            if got is None:
                self.fail(rel, f"file deleted from the bag: {rel} (listed in {name})")
                problems += 1
            elif got != want:
                self.fail(
                    rel,
                    f"{rel}: {algorithm} does not match {name} (listed {want}, computed {got}) "
                    "— the file was changed",
                )
                problems += 1
        if tag:
            present = sorted(
                p.name
                for p in self.root.iterdir()
                if _is_regular(p) and not p.name.startswith("tagmanifest-")
            )
            for extra in present:
                if extra not in listed:
                    self.fail(extra, f"tag file {extra} is not covered by {name}")
                    problems += 1
        else:
            for rel in self.payload:
                if rel not in listed:
                    self.fail(rel, f"file added to the bag but not listed in {name}: {rel}")
                    problems += 1
        if not problems:
            self.ok(name, f"{name}: all {len(listed)} files are present and hash right")

    def check_bag(self) -> None:
        raw = self.read("bagit.txt")
        if raw is None:
            self.fail("bagit.txt", "file deleted from the bag: bagit.txt (not a BagIt bag)")
        else:
            tags = dict(_parse_tag_file(raw.decode("utf-8")))
            version = tags.get("BagIt-Version")
            encoding = tags.get("Tag-File-Character-Encoding", "")
            if version not in ("0.97", "1.0") or encoding.upper() != "UTF-8":
                self.fail(
                    "bagit.txt",
                    f"bagit.txt: expected BagIt-Version 1.0 and UTF-8, got {version!r}, "
                    f"{encoding!r}",
                )
            else:
                self.ok("bagit.txt", f"bagit.txt: BagIt {version}, UTF-8")
        manifests = sorted(
            p.name for p in self.root.iterdir() if re.fullmatch(r"manifest-[a-z0-9]+\.txt", p.name)
        )
        if "manifest-sha256.txt" not in manifests:
            self.fail("manifest-sha256.txt", "file deleted from the bag: manifest-sha256.txt")
        for name in manifests:
            algorithm = name.removeprefix("manifest-").removesuffix(".txt")
            if algorithm not in _HASHLIB_ALGORITHMS:
                self.fail(name, f"{name}: unsupported algorithm {algorithm!r}")
                continue
            self._check_manifest(name, algorithm, tag=False)
        raw_info = self.read("bag-info.txt")
        if raw_info is None:
            self.fail("bag-info.txt", "file deleted from the bag: bag-info.txt")
        else:
            info = dict(_parse_tag_file(raw_info.decode("utf-8")))
            oxum = info.get("Payload-Oxum")
            octets = 0
            for rel in self.payload:
                octets += self.path(rel).lstat().st_size
            actual = f"{octets}.{len(self.payload)}"
            if oxum != actual:
                self.fail(
                    "bag-info.txt",
                    f"bag-info.txt: Payload-Oxum is {oxum!r} but the payload holds {actual} "
                    "(bytes.files) — files were added, removed or changed in size",
                )
            else:
                self.ok("bag-info.txt", f"bag-info.txt: Payload-Oxum {actual} matches")
        tagmanifests = sorted(
            p.name
            for p in self.root.iterdir()
            if re.fullmatch(r"tagmanifest-[a-z0-9]+\.txt", p.name)
        )
        if "tagmanifest-sha256.txt" not in tagmanifests:
            self.fail("tagmanifest-sha256.txt", "file deleted from the bag: tagmanifest-sha256.txt")
        for name in tagmanifests:
            algorithm = name.removeprefix("tagmanifest-").removesuffix(".txt")
            if algorithm not in _HASHLIB_ALGORITHMS:
                self.fail(name, f"{name}: unsupported algorithm {algorithm!r}")
                continue
            self._check_manifest(name, algorithm, tag=True)

    def check_sums(self) -> None:
        for name, field_name in (("SHA256SUMS", "sha256"), ("B3SUMS", "blake3")):
            item = f"data/{name}"
            raw = self.read(item)
            if raw is None:
                self.fail(item, f"file deleted from the bag: {item}")
                continue
            problems = 0
            listed: set[str] = set()
            for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
                parsed = _parse_sums_line(line)
                if parsed is None or not _safe_rel(parsed[1]) or not _HEX64.fullmatch(parsed[0]):
                    self.fail(item, f"{item}: line {number} is not '<hex>  <path>' inside data/")
                    problems += 1
                    continue
                digest, rel = parsed
                listed.add(rel)
                h = self.hashed(f"data/{rel}")
                if h is None:
                    self.fail(item, f"{item}: file deleted from the bag: data/{rel}")
                    problems += 1
                elif getattr(h, field_name) != digest:
                    self.fail(
                        item,
                        f"{item}: data/{rel} does not match (listed {digest}, computed "
                        f"{getattr(h, field_name)}) — the file was changed",
                    )
                    problems += 1
            for rel in self.payload:
                short = rel.removeprefix("data/")
                if short not in SUMS_FILES and short not in listed:
                    self.fail(item, f"{item}: data/{short} is not listed — a file was added")
                    problems += 1
            if not problems:
                self.ok(item, f"{item}: all {len(listed)} files match")

    def check_case(self) -> None:
        raw = self.read("data/case.json")
        if raw is None:
            self.fail("data/case.json", "file deleted from the bag: data/case.json")
        else:
            value = json.loads(raw)
            if not isinstance(value, dict) or not isinstance(value.get("evidence"), list):
                self.fail("data/case.json", "data/case.json: not a case description")
            else:
                self.case = value
                case = value.get("case") or {}
                self.ok(
                    "data/case.json",
                    f"data/case.json: case {case.get('number')}, "
                    f"{len(value['evidence'])} evidence item(s)",
                )
        raw_list = self.read("data/data-list.csv")
        if raw_list is None:
            self.fail("data/data-list.csv", "file deleted from the bag: data/data-list.csv")
        else:
            self.data_list = parse_data_list_csv(raw_list.decode("utf-8"))
            self.ok("data/data-list.csv", f"data/data-list.csv: {len(self.data_list)} row(s)")

    def check_checkpoint(self) -> None:
        item = "data/ledger/checkpoint.txt"
        raw = self.read(item)
        if raw is None:
            self.fail(item, f"file deleted from the bag: {item}")
        else:
            try:
                self.checkpoint = open_checkpoint(raw.decode("utf-8"), [self.trusted])
            except CustodyError as e:
                self.fail(
                    item,
                    f"{item}: signature does not verify with the trusted key "
                    f"{self.trusted_text} ({e.message}) — the checkpoint was edited or signed "
                    "by another key",
                )
            else:
                cp = self.checkpoint
                self.ok(
                    item,
                    f"{item}: signed by the trusted key {self.trusted.name}+"
                    f"{self.trusted.key_id.hex()} (tree size {cp.size})",
                )
        key_item = "data/ledger/verifier-key.txt"
        raw_key = self.read(key_item)
        if raw_key is None:
            self.fail(key_item, f"file deleted from the bag: {key_item}")
            return
        named = raw_key.decode("utf-8").strip()
        try:
            same = VerifierKey.from_text(named) == self.trusted
        except CustodyError:
            same = False
        if same:
            self.ok(key_item, f"{key_item}: names the trusted key")
        else:
            self.fail(
                key_item,
                f"{key_item}: names {named!r}, not the trusted key {self.trusted_text} — the "
                "bundle claims another signer; only the trusted key counts",
            )

    def check_entries(self) -> None:
        folder = self.path("data/ledger/entries")
        if not folder.is_dir():
            self.fail("data/ledger/entries/", "the bundle has no ledger entries")
            return
        for path in sorted(folder.iterdir()):
            rel = f"data/ledger/entries/{path.name}"
            m = _ENTRY_NAME.fullmatch(path.name)
            if m is None or not _is_regular(path):
                self.fail(rel, f"{rel}: unexpected file among the ledger entries")
                continue
            with self.guard(rel):
                self._check_entry(rel, int(m.group(1)), path.read_bytes())
        if self.case is not None:
            for seq in self.case.get("entries") or []:
                if isinstance(seq, int) and seq not in self.entries:
                    rel = f"data/ledger/entries/{seq:06d}.json"
                    self.fail(rel, f"file deleted from the bag: {rel} (listed in data/case.json)")

    def _check_entry(self, rel: str, seq: int, canonical: bytes) -> None:
        problems: list[str] = []
        try:
            value = json.loads(canonical)
        except (ValueError, UnicodeDecodeError):
            self.fail(rel, f"{rel}: not JSON — the entry was edited")
            return
        if not isinstance(value, dict) or any(f not in value for f in ENTRY_FIELDS):
            self.fail(rel, f"{rel}: not a ledger entry (fields missing) — the entry was edited")
            return
        if canonical_json(value) != canonical:
            problems.append(f"{rel}: not in RFC 8785 canonical form — the entry was edited")
        if value.get("seq") != seq:
            problems.append(
                f"{rel}: carries seq {value.get('seq')} but is filed as entry {seq} — "
                "entries were swapped, renamed or reordered"
            )
        self.entries[seq] = (canonical, value)
        entry_hash = leaf_hash(canonical)
        proof_rel = f"data/ledger/proofs/{seq:06d}.json"
        raw = self.read(proof_rel)
        cp = self.checkpoint
        if raw is None:
            problems.append(f"{rel}: its proof file {proof_rel} is missing")
        elif cp is None:
            problems.append(f"{rel}: not proven: there is no checkpoint signed by the trusted key")
        else:
            proofs = json.loads(raw)
            if not isinstance(proofs, dict):
                raise BundleError(f"{proof_rel} is not a JSON object")
            inclusion = parse_inclusion_proof(proofs.get("inclusion"))
            try:
                if inclusion.leaf_index != seq:
                    raise BundleError(f"the proof is for leaf {inclusion.leaf_index}, not {seq}")
                if inclusion.tree_size != cp.size:
                    raise BundleError(
                        f"the proof is for tree size {inclusion.tree_size}, not the "
                        f"checkpoint's {cp.size}"
                    )
                inclusion.verify(leaf_hash=entry_hash, root=cp.root)
            except CustodyError as e:
                problems.append(
                    f"{rel}: hash does not match its inclusion proof against the signed "
                    f"checkpoint — the entry was edited, or its proof replaced ({e.message})"
                )
            problems.extend(self._prev_problems(rel, seq, value, proofs.get("prev"), cp))
        if problems:
            for p in problems:
                self.fail(rel, p)
        else:
            self.ok(
                rel,
                f"{rel}: canonical; hash {entry_hash.hex()} is leaf {seq} of the signed tree "
                f"of size {cp.size if cp else '?'}; prev link proven",
            )

    def _prev_problems(
        self, rel: str, seq: int, value: Mapping[str, Any], raw_prev: object, cp: Checkpoint
    ) -> list[str]:
        prev = value.get("prev")
        forged = f"{rel}: prev link is not proven — a forged prev link"
        if seq == 0:
            if prev != GENESIS_PREV:
                return [f"{forged}: entry 0 must have prev {GENESIS_PREV}"]
            return []
        if not isinstance(prev, str) or not _HEX64.fullmatch(prev):
            return [f"{forged}: prev {prev!r} is not a 64-digit hex hash"]
        if raw_prev is None:
            return [f"{forged}: the proof file has no proof of entry {seq - 1}"]
        try:
            proof = parse_inclusion_proof(raw_prev)
            if proof.leaf_index != seq - 1 or proof.tree_size != cp.size:
                raise BundleError(
                    f"its prev proof is for leaf {proof.leaf_index} at size {proof.tree_size}, "
                    f"not leaf {seq - 1} at size {cp.size}"
                )
            proof.verify(leaf_hash=bytes.fromhex(prev), root=cp.root)
        except CustodyError as e:
            return [
                f"{forged}: its prev {prev} is not the hash of entry {seq - 1} in the signed "
                f"ledger ({e.message})"
            ]
        # (a bundled entry seq-1 that hashes otherwise fails its own inclusion proof)
        return []

    # reports

    def _case_items(self) -> dict[str, Mapping[str, Any]]:
        items: dict[str, Mapping[str, Any]] = {}
        if self.case is not None:
            for item in self.case.get("evidence") or []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    items[item["id"]] = item
        return items

    def _evidence_ids(self) -> list[str]:
        ids = set(self._case_items())
        folder = self.path("data/evidence")
        if folder.is_dir():
            ids.update(p.name for p in folder.iterdir())
        return sorted(ids)

    def check_reports(self) -> None:
        items = self._case_items()
        rows = {r.item: r for r in self.data_list or []}
        for evidence_id in self._evidence_ids():
            item = f"report.json of {evidence_id}"
            with self.guard(item):
                if not _SAFE_ID.fullmatch(evidence_id):
                    self.fail(item, f"{item}: {evidence_id!r} is not a valid evidence id")
                    continue
                self._check_report(evidence_id, items.get(evidence_id), rows)

    def _check_report(
        self,
        evidence_id: str,
        listed: Mapping[str, Any] | None,
        rows: Mapping[int, DataListRow],
    ) -> None:
        item = f"report.json of {evidence_id}"
        base = f"data/evidence/{evidence_id}"
        if listed is None:
            self.fail(item, f"{item}: {base}/ is not listed in data/case.json — it was added")
        raw = self.read(f"{base}/report.json")
        if raw is None:
            self.fail(item, f"file deleted from the bag: {base}/report.json")
            return
        problems: list[str] = []
        signature = self.read(f"{base}/report.json.sig")
        if signature is None:
            problems.append(f"{item}: unsigned — file deleted from the bag: {base}/report.json.sig")
        else:
            try:
                verify_report_signature(raw, signature.decode("utf-8"), [self.trusted])
            except CustodyError as e:
                problems.append(
                    f"{item}: signature does not verify with the trusted key "
                    f"{self.trusted_text} ({e.message})"
                )
        report = parse_report(raw)
        self.reports[evidence_id] = report
        if canonical_json(report.to_json()) != raw:
            problems.append(f"{item}: not in RFC 8785 canonical form — it was edited")
        if listed is not None and listed.get("report_hash") != hashlib.sha256(raw).hexdigest():
            problems.append(f"{item}: its hash differs from the report_hash in data/case.json")
        if report.evidence_id != evidence_id:
            problems.append(f"{item}: is about evidence {report.evidence_id}, not {evidence_id}")
        recorded = report.recorded_digests()
        if listed is not None:
            problems.extend(_differences(item, recorded, listed.get("digests"), "data/case.json"))
            if listed.get("size") != report.size_recorded:
                problems.append(
                    f"{item}: size {report.size_recorded} differs from data/case.json "
                    f"({listed.get('size')})"
                )
            row = rows.get(listed.get("item", -1))
            if row is None:
                problems.append(f"{item}: no row for it in data/data-list.csv")
            else:
                problems.extend(_differences(item, recorded, row.digests(), "data/data-list.csv"))
                if row.size != report.size_recorded:
                    problems.append(
                        f"{item}: size {report.size_recorded} differs from data/data-list.csv "
                        f"({row.size})"
                    )
        problems.extend(self._intake_problems(item, evidence_id, report))
        problems.extend(self._custody_problems(item, report))
        problems.extend(self._report_ledger_problems(item, report))
        if not report.passed:
            findings = "; ".join(report.findings) or "no findings given"
            problems.append(f"{item}: the report itself records a FAILED verification: {findings}")
        own_hash = hashlib.sha256(raw).hexdigest()
        html = self.read(f"{base}/report.html")
        if html is None:
            problems.append(f"file deleted from the bag: {base}/report.html")
        elif own_hash not in html.decode("utf-8", errors="replace"):
            problems.append(
                f"{base}/report.html does not show the hash {own_hash} of report.json — "
                "it was rendered from another report or edited"
            )
        pdf = self.read(f"{base}/report.pdf")
        if pdf is None:
            problems.append(f"file deleted from the bag: {base}/report.pdf")
        elif not pdf.startswith(b"%PDF-"):
            problems.append(f"{base}/report.pdf is not a PDF file")
        if problems:
            for p in problems:
                self.fail(item, p)
        else:
            self.ok(
                item,
                f"{item}: signed by the trusted key; hash {own_hash}; its digests agree with "
                "case.json, data-list.csv and the INTAKE ledger entry",
            )

    def _intake_problems(
        self, item: str, evidence_id: str, report: VerificationReport
    ) -> list[str]:
        intakes = [
            (seq, value)
            for seq, (_, value) in sorted(self.entries.items())
            if value.get("evidence") == evidence_id and value.get("action") == str(Action.INTAKE)
        ]
        if not intakes:
            return [f"{item}: the bundle holds no INTAKE ledger entry for {evidence_id}"]
        seq, value = intakes[0]
        details = value.get("details")
        if not isinstance(details, dict):
            return [f"{item}: INTAKE entry {seq} has no details"]
        problems = _differences(
            item, report.recorded_digests(), details.get("digests"), f"INTAKE ledger entry {seq}"
        )
        if details.get("size") != report.size_recorded:
            problems.append(
                f"{item}: size {report.size_recorded} differs from INTAKE ledger entry {seq} "
                f"({details.get('size')})"
            )
        return problems

    def _custody_problems(self, item: str, report: VerificationReport) -> list[str]:
        problems: list[str] = []
        for event in report.custody:
            bundled = self.entries.get(event.seq)
            if bundled is None:
                problems.append(
                    f"{item}: lists custody entry {event.seq} ({event.action}), which is not in "
                    f"the bundle — file deleted from the bag: data/ledger/entries/"
                    f"{event.seq:06d}.json"
                )
            elif leaf_hash(bundled[0]).hex() != event.entry_hash:
                problems.append(
                    f"{item}: lists custody entry {event.seq} with hash {event.entry_hash}, but "
                    f"the bundled entry hashes to {leaf_hash(bundled[0]).hex()}"
                )
        return problems

    def check_export(self) -> None:
        """The signed EXPORT entry, when it lists the items, proves none was taken out."""
        number = (self.case or {}).get("case", {}).get("number")
        exports = [
            (seq, value)
            for seq, (_, value) in sorted(self.entries.items())
            if value.get("action") == str(Action.EXPORT)
            and value.get("case") == number
            and isinstance((value.get("details") or {}).get("evidence"), list)
        ]
        if not exports:
            return
        seq, value = exports[-1]
        item = f"data/ledger/entries/{seq:06d}.json"
        listed = {str(x) for x in value["details"]["evidence"]}
        present = set(self._evidence_ids())
        missing, extra = sorted(listed - present), sorted(present - listed)
        for evidence_id in missing:
            self.fail(
                item,
                f"{item}: the EXPORT entry lists evidence {evidence_id}, which is missing from "
                "the bundle — an item was removed",
            )
        for evidence_id in extra:
            self.fail(
                item,
                f"{item}: evidence {evidence_id} is in the bundle but not in the EXPORT entry — "
                "an item was added",
            )
        if not missing and not extra:
            self.ok(item, f"{item}: the bundle holds exactly the {len(listed)} exported item(s)")

    def _report_ledger_problems(self, item: str, report: VerificationReport) -> list[str]:
        """The report's own checkpoint must be trusted and prove the bundled entries it lists."""
        try:
            cp = open_checkpoint(report.ledger.checkpoint_note, [self.trusted])
        except CustodyError as e:
            return [f"{item}: its checkpoint is not signed by the trusted key ({e.message})"]
        problems = []
        for number, raw in enumerate(report.ledger.proofs):
            try:
                proof = parse_inclusion_proof(raw)
            except CustodyError as e:
                problems.append(f"{item}: its proof #{number} is malformed ({e.message})")
                continue
            bundled = self.entries.get(proof.leaf_index)
            if bundled is None:
                continue  # a listed entry missing from the bundle is reported with the custody
            if proof.tree_size != cp.size:
                problems.append(
                    f"{item}: its proof of entry {proof.leaf_index} is for tree size "
                    f"{proof.tree_size}, not its checkpoint's {cp.size}"
                )
                continue
            try:
                proof.verify(leaf_hash=leaf_hash(bundled[0]), root=cp.root)
            except CustodyError:
                problems.append(
                    f"{item}: the bundled entry {proof.leaf_index} is not the one its signed "
                    "checkpoint proves — data/ledger/entries/"
                    f"{proof.leaf_index:06d}.json was edited"
                )
        return problems

    # content

    def check_content(self) -> None:
        items = self._case_items()
        index: dict[int, list[Path]] | None = None
        for evidence_id in self._evidence_ids():
            item = f"content of {evidence_id}"
            if not _SAFE_ID.fullmatch(evidence_id):
                continue
            with self.guard(item):
                expected = self._expected(evidence_id, items.get(evidence_id))
                if expected is None:
                    self.fail(item, f"{item}: no recorded digests to check it against")
                    continue
                size, digests, name = expected
                folder = f"data/evidence/{evidence_id}/content"
                files = sorted(p for p in self.payload if p.startswith(folder + "/"))
                if len(files) > 1:
                    self.fail(item, f"{item}: {folder}/ holds {len(files)} files, expected one")
                    continue
                if files:
                    h = self.hashed(files[0])
                    assert h is not None
                    self._compare_content(item, files[0], h, size, digests)
                    continue
                if self.content_dir is None:
                    self.skip(
                        item,
                        f"{item}: not checked — content not included in the bundle; pass "
                        "--content-dir DIR to check a copy",
                    )
                    continue
                if index is None:
                    index = _index_by_size(self.content_dir)
                found = self._find(index.get(size, []), digests["sha256"])
                if found is None:
                    self.fail(
                        item,
                        f"{item}: {name} ({size} bytes, sha256 {digests['sha256']}) not found in "
                        f"{self.content_dir}: no file there has its size and SHA-256",
                    )
                    continue
                path, h = found
                self._compare_content(item, str(path), h, size, digests)

    def _expected(
        self, evidence_id: str, listed: Mapping[str, Any] | None
    ) -> tuple[int, dict[str, str], str] | None:
        report = self.reports.get(evidence_id)
        if report is not None:
            digests = report.recorded_digests()
            size, name = report.size_recorded, report.original_filename
        elif listed is not None and isinstance(listed.get("digests"), dict):
            digests = {str(k): str(v) for k, v in listed["digests"].items()}
            size, name = int(listed.get("size", -1)), str(listed.get("file_name", ""))
        else:
            return None
        if "sha256" not in digests:
            return None
        return size, digests, name

    def _find(self, candidates: Sequence[Path], sha256: str) -> tuple[Path, _Hashed] | None:
        for path in candidates:
            key = f"\x00{path}"
            if key not in self._hashes:
                self._hashes[key] = _hash_path(path)
            if self._hashes[key].sha256 == sha256:
                return path, self._hashes[key]
        return None

    def _compare_content(
        self, item: str, where: str, h: _Hashed, size: int, digests: Mapping[str, str]
    ) -> None:
        problems = []
        if h.size != size:
            problems.append(f"size recorded {size}, found {h.size}")
        if h.sha256 != digests.get("sha256"):
            problems.append(f"sha256 recorded {digests.get('sha256')}, computed {h.sha256}")
        if "blake3" in digests and h.blake3 != digests["blake3"]:
            problems.append(f"blake3 recorded {digests['blake3']}, computed {h.blake3}")
        if problems:
            self.fail(
                item,
                f"{where}: content does not match the recorded digests ({'; '.join(problems)}) "
                "— the content was changed",
            )
        else:
            self.ok(item, f"{where}: size, SHA-256 and BLAKE3 match the values recorded at intake")

    def check_consistency(self) -> None:
        item = "data/ledger/consistency.json"
        raw = self.read(item)
        if raw is None:
            return
        proof = parse_consistency_proof(json.loads(raw))
        cp = self.checkpoint
        if cp is not None and proof.second != cp.size:
            self.fail(item, f"{item}: proves growth to size {proof.second}, not {cp.size}")
            return
        self.ok(
            item,
            f"{item}: a consistency proof from tree size {proof.first} to {proof.second}; check "
            "it against your earlier checkpoint with `custody ledger consistency OLD "
            "data/ledger/checkpoint.txt --proof data/ledger/consistency.json`",
        )


def _differences(item: str, recorded: Mapping[str, str], other: object, where: str) -> list[str]:
    if not isinstance(other, Mapping):
        return [f"{item}: {where} gives no digests"]
    problems = []
    for algorithm in sorted(set(recorded) | set(other)):
        mine, theirs = recorded.get(algorithm), other.get(algorithm)
        if mine != theirs:
            problems.append(
                f"{item}: recorded {algorithm} {mine or '(none)'} differs from {where} "
                f"({theirs or '(none)'})"
            )
    return problems


def _index_by_size(folder: Path) -> dict[int, list[Path]]:
    index: dict[int, list[Path]] = {}
    for directory, _, files in os.walk(folder):
        for name in sorted(files):
            path = Path(directory) / name
            try:
                info = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                index.setdefault(info.st_size, []).append(path)
    return index


def verify_bundle(
    bundle_dir: Path, *, trusted_key: VerifierKey, content_dir: Path | None = None
) -> BundleReport:
    """Check every item of a bundle against ``trusted_key``; never stops at the first failure.

    Content is checked when it is in the bag, else in ``content_dir`` (found by size and
    SHA-256); with neither, a SKIPPED check says it was not checked.
    """
    verifier = _Verifier(Path(bundle_dir), trusted_key, content_dir)
    verifier.run()
    return BundleReport(checks=verifier.checks)
