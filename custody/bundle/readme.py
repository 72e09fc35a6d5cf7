"""The bundle's README.en.txt and README.zh.txt: how a court checks it without this software."""

from __future__ import annotations

from dataclasses import dataclass

from custody.checkpoint import Checkpoint


@dataclass(frozen=True, kw_only=True)
class ReadmeFacts:
    """What the READMEs name: the case, the export, the checkpoint, and an example entry."""

    case_number: str
    case_title: str
    classification: str
    exported_at: str
    exported_by: str
    department: str
    purpose: str
    verifier_key: str
    checkpoint: Checkpoint
    export_seq: int
    first_seq: int
    entry_count: int
    with_content: bool
    secrecy_mark: str | None = None
    copy_no: int | None = None


def _mark_en(f: ReadmeFacts) -> str:
    if not f.secrecy_mark:
        return ""
    copy = f"  Copy No. {f.copy_no} (第 {f.copy_no} 份)" if f.copy_no else ""
    return f"{f.secrecy_mark}{copy}\n"


def _mark_zh(f: ReadmeFacts) -> str:
    if not f.secrecy_mark:
        return ""
    copy = f"  第 {f.copy_no} 份" if f.copy_no else ""
    return f"{f.secrecy_mark}{copy}\n"


def readme_en(f: ReadmeFacts) -> str:
    content = (
        "The evidence content is included under evidence/<id>/content/."
        if f.with_content
        else "The evidence content is NOT included; check your own copy (step 2) or run the "
        "verifier with --content-dir DIR."
    )
    first, export = f"{f.first_seq:06d}", f"{f.export_seq:06d}"
    return f"""{_mark_en(f)}Court bundle (BagIt, RFC 8493) — case {f.case_number}
Case title: {f.case_title}
Classification: {f.classification}
Exported at {f.exported_at} by {f.exported_by} ({f.department})
Purpose: {f.purpose}
Signed ledger checkpoint: origin {f.checkpoint.origin}, tree size {f.checkpoint.size}
Ledger entries of this case: {f.entry_count}, from entry {f.first_seq} (case created) to
  entry {f.export_seq} (this export, the last entry of the signed tree)
Verifier key named in this bundle (informational): {f.verifier_key.strip()}
  Obtain the lab's verifier key through an independent channel (its published key, a court
  filing) and check against that key: anyone can re-sign a bundle with a key of their own.
{content}

Everything below can be checked without this software.

1. Is the bag complete and unchanged?
     bagit.py --validate BUNDLE         (or: sha256sum each file in manifest-sha256.txt)
     cd BUNDLE/data && sha256sum -c SHA256SUMS && b3sum -c B3SUMS
   SHA256SUMS and B3SUMS list every other file in data/ in coreutils format. These files
   are not signed: they show that nothing changed in transit, not that nothing was left
   out. Completeness is step 6.

2. Does the evidence match the check values recorded at intake?
   The check values that count are those in each item's INTAKE ledger entry
   (ledger/entries/, action "evidence.intake", details.digests); data-list.csv (电子数据清单,
   the data list) and evidence/<id>/report.json repeat them. Hash the content and compare:
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
     (printf '\\0'; cat ledger/entries/{first}.json) | sha256sum
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

6. Does the bundle hold the whole case, with nothing left out?
   Every entry of a case also carries "case_prev", the entry hash of the case's previous
   entry ("case_prev" is null only in the "case.created" entry). The export entry,
   ledger/entries/{export}.json, is the last leaf of the signed tree (tree size
   {f.checkpoint.size} = its seq + 1), so no entry of the case can come after it. Start
   there: hash the entry (step 4), find the entry whose hash equals the next "case_prev",
   and go on until "case.created". The walk must reach every file in ledger/entries/ and
   never meet a "case_prev" that no file hashes to: a missing entry (an item's intake, a
   grant, a verification) breaks the walk at the place where it was removed. The export
   entry's details.evidence and details.disposed name every item of the case; each has its
   "evidence.intake" entry on the walk.

7. Everything at once, with the project's offline verifier (nothing of the server needed):
     pip install evidence-custody     (the verifier alone, with four small libraries)
     custody-verify verify-bundle BUNDLE --trusted-key 'name+keyid+key' [--content-dir DIR]
   (also: python -m custody verify-bundle …). It prints OK / FAIL per item, names what was
   changed or left out, and exits 0 when everything verifies, 1 when anything fails, 2 on a
   usage error.

8. Anchors outside the lab, when present. ledger/checkpoint.txt may carry cosignatures of
   independent witnesses (C2SP cosignature/v1): add --witness-key KEY --min-witnesses N
   with keys you obtained from the witnesses themselves. ledger/timestamps/*.tsr are RFC
   3161 tokens over SHA-256 of the checkpoint's text before its blank line; add --tsa-cert
   FILE (the TSA's certificate and its CA), or check one with OpenSSL alone:
     cd data/ledger && openssl ts -verify -in timestamps/000.tsr -CAfile ca.pem \\
       -untrusted tsa.pem \\
       -digest $(sed -n '1,/^$/p' checkpoint.txt | head -n -1 | sha256sum | cut -c1-64)
   ledger/rotations/ holds the lab's key rotations (each signed by the key before it).

Contents
  bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt   BagIt files
  data/README.zh.txt, data/README.en.txt   this guide (Chinese, English)
  data/SHA256SUMS, data/B3SUMS             check values of every other file in data/
  data/case.json                           the case, the export (who, when, why), the items
  data/data-list.csv                       电子数据清单 / data list with check values (UTF-8)
  data/evidence/<id>/report.json           signed verification report (+ .sig, .html, .pdf)
  data/evidence/<id>/content/<file>        the evidence itself, when exported with content
  data/ledger/entries/, data/ledger/proofs/, data/ledger/checkpoint.txt,
  data/ledger/verifier-key.txt             the case's custody ledger and its proofs
  data/ledger/timestamps/, data/ledger/rotations/, data/ledger/witness-keys.txt
                                           anchors: RFC 3161 tokens, key rotations, the
                                           witness keys the lab named (not to be trusted as
                                           given: obtain them from the witnesses)
"""


def readme_zh(f: ReadmeFacts) -> str:
    content = (
        "检材内容已包含在 evidence/<编号>/content/ 目录中。"
        if f.with_content
        else "本数据包不含检材内容；请按第 2 步核验您持有的副本，或运行核验程序时加 "
        "--content-dir 目录。"
    )
    first, export = f"{f.first_seq:06d}", f"{f.export_seq:06d}"
    return f"""{_mark_zh(f)}移交法院数据包（BagIt 格式，RFC 8493）— 案件 {f.case_number}
案件名称：{f.case_title}
密级：{f.classification}
导出时间：{f.exported_at}，导出人：{f.exported_by}（{f.department}）
导出事由：{f.purpose}
签名检查点：来源 {f.checkpoint.origin}，树大小 {f.checkpoint.size}
本案账本条目：共 {f.entry_count} 条，自第 {f.first_seq} 号（立案）至第 {f.export_seq} 号
  （本次导出，即签名树的最后一个条目）
本数据包中附带的验证公钥（仅供参考）：{f.verifier_key.strip()}
  请通过独立渠道（本单位公布的公钥、向法院提交的材料）取得验证公钥，并以该公钥核验：
  任何人都可以用自己的密钥重新签名一个数据包。
{content}

以下各项均可不借助本软件独立核验。

1. 数据包是否完整、未被改动？
     bagit.py --validate 数据包目录      （或用 sha256sum 逐一核对 manifest-sha256.txt）
     cd 数据包目录/data && sha256sum -c SHA256SUMS && b3sum -c B3SUMS
   SHA256SUMS 与 B3SUMS 按 coreutils 格式列出 data/ 下其余每个文件的校验值。这些文件
   未经签名：只能证明传递过程中未被改动，不能证明没有遗漏。是否有遗漏见第 6 步。

2. 检材内容是否与提取时记录的校验值一致？
   以每件检材的提取入库账本条目（ledger/entries/ 中 action 为 "evidence.intake" 的条目，
   details.digests）所记载的校验值为准；data-list.csv（电子数据清单）和各
   evidence/<编号>/report.json 重复记载同一数值。计算检材的校验值并比对：
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
     (printf '\\0'; cat ledger/entries/{first}.json) | sha256sum
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

6. 数据包是否包含本案全部记录、没有遗漏？
   本案每个条目还带有 "case_prev" 字段，即本案上一条目的条目哈希（仅 "case.created"
   立案条目的 "case_prev" 为 null）。导出条目 ledger/entries/{export}.json 是签名树的
   最后一个叶子（树大小 {f.checkpoint.size} = 其序号 + 1），因此本案不可能有在其之后的条目。
   从导出条目开始：计算其条目哈希（第 4 步），找到哈希等于其 "case_prev" 的条目，依次
   向前，直至 "case.created"。这一回溯必须经过 ledger/entries/ 中的每一个文件，且不得
   遇到任何文件都不能与之对应的 "case_prev"：缺少任何条目（某件检材的入库、一次授权、
   一次核验）都会使回溯在被删除之处中断。导出条目的 details.evidence 与
   details.disposed 列出本案全部检材，每件检材的 "evidence.intake" 条目都在回溯路径上。

7. 使用本项目的离线核验程序一次完成上述全部核验（无需服务器的任何组件）：
     pip install evidence-custody     （仅安装核验程序）
     custody-verify verify-bundle 数据包目录 --trusted-key '名称+密钥标识+公钥' [--content-dir 目录]
   （亦可：python -m custody verify-bundle …）。逐项输出 OK / FAIL，指明被改动或被遗漏
   的内容；全部通过时退出码为 0，任何一项失败为 1，用法错误为 2。

8. 本单位以外的锚定（如有）。ledger/checkpoint.txt 可能带有独立见证方的联署签名
   （C2SP cosignature/v1）：核验时加 --witness-key 公钥 --min-witnesses N，公钥须从见证方
   处独立获得。ledger/timestamps/*.tsr 为 RFC 3161 时间戳，针对检查点空行之前正文的
   SHA-256；核验时加 --tsa-cert 文件（时间戳机构证书及其 CA 证书），或仅用 OpenSSL：
     cd data/ledger && openssl ts -verify -in timestamps/000.tsr -CAfile ca.pem \\
       -untrusted tsa.pem \\
       -digest $(sed -n '1,/^$/p' checkpoint.txt | head -n -1 | sha256sum | cut -c1-64)
   ledger/rotations/ 为取证单位的密钥轮换记录（每条由前一把密钥签名）。

目录说明
  bagit.txt、bag-info.txt、manifest-sha256.txt、tagmanifest-sha256.txt   BagIt 文件
  data/README.zh.txt、data/README.en.txt   本说明（中文、英文）
  data/SHA256SUMS、data/B3SUMS             data/ 下其余每个文件的校验值
  data/case.json                           案件信息、导出信息（何人、何时、何事由）、检材清单
  data/data-list.csv                       电子数据清单（含校验值，UTF-8 编码）
  data/evidence/<编号>/report.json         签名的核验报告（及 .sig、.html、.pdf）
  data/evidence/<编号>/content/<文件>      检材内容（仅在导出时选择包含内容时）
  data/ledger/entries/、data/ledger/proofs/、data/ledger/checkpoint.txt、
  data/ledger/verifier-key.txt             本案保管账本及其证明
"""
