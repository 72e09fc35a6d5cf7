"""The document of one item's verification report (:class:`custody.report.VerificationReport`).

What the court compares comes first: the conclusion, the item, its check values (each printed
whole), then the storage lock, the custody history and the proofs, the report's own
signatures, how to check it all without this software, and the signature blocks. Long free
text is shortened here; the whole value stays in the embedded, signed ``report.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.reports import words as w
from api.reports.document import (
    Attachment,
    Block,
    Digest,
    Digests,
    Document,
    Field,
    Fields,
    Pre,
    Section,
    Signatures,
    Signer,
    Steps,
    Table,
    Text,
)
from custody.report import VerificationReport

TITLE = "电子数据完整性核验报告 / Electronic Data Integrity Verification Report"
NAME_LIMIT = 300
TEXT_LIMIT = 1000
CELL_LIMIT = 300
REPORT_JSON = "report.json"
REPORT_SIG = "report.json.sig"


@dataclass(frozen=True, kw_only=True)
class Signing:
    """What the rendering says about its own signatures: the JSON's and the PDF's."""

    report_hash: str
    signature: str  # the ledger key's detached signature over report.json
    certificate_subject: str | None = None  # the PDF signing certificate, when known


def _findings(items: list[str], label: str) -> Field:
    if not items:
        return Field(label=label, value=w.NONE)
    return Field(
        label=label, value="\n".join(f"• {w.shorten(f, CELL_LIMIT)}" for f in items), alert=True
    )


def _summary(r: VerificationReport) -> Section:
    verifier = r.generated_by + (
        f"（{w.named(w.ROLES, r.generated_by_role)}）" if r.generated_by_role else ""
    )
    return Section(
        title="核验概要 / Summary",
        anchor="summary",
        blocks=(
            Fields(
                rows=(
                    Field(label="核验时间 / Verified at", value=w.both_times(r.generated_at)),
                    Field(label="核验人 / Verified by", value=verifier),
                    Field(label="核验单位 / Department", value=r.generated_by_department),
                    _findings(r.findings, "核验发现 / Findings"),
                    Field(label="报告格式版本 / Report format", value=str(r.report_version)),
                )
            ),
        ),
    )


def _case(r: VerificationReport) -> Section:
    return Section(
        title="案件 / Case",
        anchor="case",
        blocks=(
            Fields(
                rows=(
                    Field(label="案件编号 / Case number", value=r.case_number),
                    Field(label="案件名称 / Case title", value=w.shorten(r.case_title, NAME_LIMIT)),
                    Field(label="密级 / Classification", value=w.level(r.case_classification)),
                )
            ),
        ),
    )


def _item(r: VerificationReport) -> Section:
    size_alert = r.size_recomputed is not None and r.size_recomputed != r.size_recorded
    return Section(
        title="检材 / Evidence item",
        anchor="evidence",
        blocks=(
            Fields(
                rows=(
                    Field(label="检材编号 / Evidence ID", value=r.evidence_id, mono=True),
                    Field(
                        label="原始文件名 / Original file name",
                        value=w.shorten(r.original_filename, NAME_LIMIT),
                    ),
                    Field(label="文件类型 / Content type", value=w.shorten(r.content_type, 200)),
                    Field(label="封存编号 / Seal number", value=w.opt(r.seal_no)),
                    Field(
                        label="描述 / Description",
                        value=w.opt(w.shorten(r.description, TEXT_LIMIT)),
                    ),
                    Field(label="提取时记录大小 / Size at intake", value=w.size(r.size_recorded)),
                    Field(
                        label="重新计算大小 / Size recomputed",
                        value=w.size(r.size_recomputed),
                        alert=size_alert,
                    ),
                    Field(label="提取时间 / Intake time", value=w.both_times(r.intake_time)),
                    Field(label="提取技术员 / Intake technician", value=r.intake_technician),
                )
            ),
        ),
    )


def _digests(r: VerificationReport) -> Section:
    rows: list[Digest] = []
    for d in r.digests:
        name = w.algorithm(d.algorithm)
        rows.append(Digest(label=f"{name} 提取时记录值 / recorded at intake", value=d.recorded))
        rows.append(
            Digest(
                label=f"{name} 重新计算值 / recomputed — {w.match(d.match)}",
                value=d.recomputed or w.BLANK,
                alert=not d.match,
            )
        )
    return Section(
        title="校验值比对 / Check values",
        anchor="digests",
        blocks=(
            Text(
                text=f"提取时由 {r.intake_technician} 记录（{w.one_line_times(r.intake_time)}），"
                f"本次核验重新计算。 / Recorded at intake by {r.intake_technician}, recomputed "
                "by this verification.",
                note=True,
            ),
            Digests(rows=tuple(rows)),
        ),
    )


def _lock(r: VerificationReport) -> Section:
    lock = r.lock
    return Section(
        title="存储锁定状态 / Storage lock",
        anchor="lock",
        blocks=(
            Fields(
                rows=(
                    Field(label="存储方式 / Storage", value=w.named(w.BACKENDS, lock.backend)),
                    Field(
                        label="锁定模式 / Retention mode", value=w.named(w.LOCK_MODES, lock.mode)
                    ),
                    Field(
                        label="保留至 / Retained until",
                        value=w.both_times(lock.retain_until) if lock.retain_until else w.BLANK,
                    ),
                    Field(
                        label="应保留至 / Expected retained until",
                        value=(
                            w.both_times(lock.expected_retain_until)
                            if lock.expected_retain_until
                            else w.BLANK
                        ),
                    ),
                    Field(label="法律保全 / Legal hold", value=w.yes(lock.legal_hold)),
                    Field(
                        label="应有法律保全 / Expected legal hold",
                        value=w.yes(lock.expected_legal_hold),
                    ),
                    Field(
                        label="记录版本 / Pinned version",
                        value=w.opt(lock.pinned_version),
                        mono=True,
                    ),
                    Field(
                        label="最新版本 / Latest version",
                        value=w.opt(lock.latest_version),
                        mono=True,
                    ),
                    Field(label="版本数 / Versions", value=str(lock.versions)),
                    Field(label="锁定核验 / Lock check", value=w.ok(lock.ok), alert=not lock.ok),
                    _findings(lock.findings, "锁定发现 / Lock findings"),
                )
            ),
        ),
    )


def _custody(r: VerificationReport) -> Section:
    if not r.custody:
        return Section(
            title="保管记录 / Custody history",
            anchor="custody",
            blocks=(Fields(rows=(Field(label="保管记录 / Entries", value=w.NONE),)),),
        )
    rows = tuple(
        (
            str(e.seq),
            w.both_times(e.time),
            f"{w.shorten(e.actor, 100)}\n{w.shorten(e.department, 100)}",
            w.action(e.action) + (f"\n事由 / why: {w.shorten(e.why, CELL_LIMIT)}" if e.why else ""),
            f"链 / chain: {w.ok(e.chain_ok)}\n证明 / proof: {w.ok(e.proof_ok)}",
        )
        for e in r.custody
    )
    return Section(
        title="保管记录 / Custody history",
        anchor="custody",
        blocks=(
            Table(
                headers=(
                    "序号 / Seq",
                    "时间 / Time",
                    "人员 / Who",
                    "操作与事由 / What and why",
                    "核验 / Checks",
                ),
                rows=rows,
                widths=(9, 24, 20, 29, 18),
                alert_rows=frozenset(
                    i for i, e in enumerate(r.custody) if not (e.chain_ok and e.proof_ok)
                ),
            ),
            Text(text="条目哈希 / Entry hashes (SHA-256(0x00 || entry)):", note=True),
            Digests(
                rows=tuple(
                    Digest(
                        label=f"序号 / Seq {e.seq}",
                        value=e.entry_hash,
                        alert=not (e.chain_ok and e.proof_ok),
                    )
                    for e in r.custody
                )
            ),
        ),
    )


def _ledger(r: VerificationReport) -> Section:
    ledger = r.ledger
    blocks: list[Block] = [
        Fields(
            rows=(
                Field(label="树大小 / Tree size", value=str(ledger.tree_size)),
                Field(label="账本核验 / Ledger check", value=w.ok(ledger.ok), alert=not ledger.ok),
                _findings(ledger.findings, "账本发现 / Ledger findings"),
            )
        ),
        Digests(
            rows=(
                Digest(label="根哈希 / Root hash (base64)", value=ledger.root_b64),
                Digest(label="验证公钥 / Verifier key", value=ledger.verifier_key),
            )
        ),
        Text(text="签名检查点 / Signed checkpoint (C2SP signed note):", note=True),
        Pre(text=ledger.checkpoint_note),
    ]
    proofs: list[Digest] = []
    for p in ledger.proofs:
        head = f"叶 / leaf {w.opt(p.get('leaf_index'))}, 树 / tree {w.opt(p.get('tree_size'))}"
        hashes = [str(h) for h in p.get("hashes") or []]
        if not hashes:
            proofs.append(Digest(label=head, value="（空证明 / empty proof）"))
        for number, h in enumerate(hashes, start=1):
            proofs.append(Digest(label=f"{head} #{number}", value=h))
    if proofs:
        blocks.append(Text(text="包含证明 / Inclusion proofs (RFC 9162, base64):", note=True))
        blocks.append(Digests(rows=tuple(proofs)))
    return Section(
        title="检查点与证明 / Checkpoint and proofs", anchor="ledger", blocks=tuple(blocks)
    )


def report_signatures(r_cert: str | None, signing: Signing, kind: str) -> Section:
    """The report's own hash, its ledger signature and the PDF certificate's fingerprint."""
    rows = [
        Digest(
            label=f"本报告哈希 / Report hash (SHA-256 of {REPORT_JSON})", value=signing.report_hash
        ),
        Digest(
            label=f"账本密钥签名 / Ledger key signature ({REPORT_SIG})",
            value=signing.signature.strip(),
        ),
    ]
    if r_cert:
        subject = f"：{signing.certificate_subject}" if signing.certificate_subject else ""
        rows.append(
            Digest(
                label=f"PDF 签名证书 SHA-256 指纹 / PDF certificate fingerprint{subject}",
                value=r_cert,
            )
        )
    return Section(
        title="报告签名 / Report signatures",
        anchor="signatures",
        blocks=(
            Digests(rows=tuple(rows)),
            Text(
                text=f"本{kind} PDF 内附 {REPORT_JSON}（RFC 8785 规范化的报告全文）"
                f"及账本密钥对其的签名 "
                f"{REPORT_SIG}，并带有上列证书的 PAdES 电子签名；签名的报告全文载明该证书指纹。 / "
                f"This PDF embeds {REPORT_JSON} (the whole report as RFC 8785 canonical JSON) and "
                f"the ledger key's signature over it, {REPORT_SIG}, and carries a PAdES signature "
                "by the certificate above, whose fingerprint the signed report names.",
                note=True,
            ),
        ),
    )


def signature_blocks(name: str, role: str, department: str, time: str) -> Section:
    return Section(
        title="签名 / Signatures",
        anchor="signing",
        blocks=(
            Signatures(
                signers=(
                    Signer(
                        title="核验人 / Verifier",
                        name=name,
                        role=role,
                        department=department,
                        time=time,
                    ),
                    Signer(title="复核人 / Reviewer"),
                )
            ),
        ),
    )


def item_document(r: VerificationReport, signing: Signing) -> Document:
    """The verification report as a document; the PDF embeds ``report.json`` and its signature."""
    mark = r.secrecy_mark or w.classification_mark(r.case_classification)
    how = Section(
        title="独立核验方法 / How to verify independently",
        anchor="how",
        blocks=(Steps(text=r.how_to_verify_zh), Steps(text=r.how_to_verify_en)),
    )
    sections = (
        _summary(r),
        _case(r),
        _item(r),
        _digests(r),
        _lock(r),
        _custody(r),
        _ledger(r),
        report_signatures(r.pdf_certificate_sha256, signing, "报告"),
        how,
        signature_blocks(
            r.generated_by,
            w.named(w.ROLES, r.generated_by_role) if r.generated_by_role else "",
            r.generated_by_department,
            w.beijing(r.generated_at),
        ),
    )
    return Document(
        title=TITLE,
        subtitle=f"{r.case_number} / {r.evidence_id}",
        mark=mark,
        header=f"核验报告 / Verification report · {w.shorten(r.case_number, 60)} · {r.evidence_id}",
        banner=f"核验结论 / Conclusion: {w.passed(r.passed)}",
        passed=r.passed,
        sections=sections,
        footer_label="本报告哈希 / Report hash",
        footer_value=signing.report_hash,
        created=r.generated_at,
        author=f"{r.generated_by} ({r.generated_by_department})",
        attachments=(),
    )


def item_attachments(canonical: bytes, signature: str) -> tuple[Attachment, ...]:
    return (
        Attachment(
            name=REPORT_JSON,
            data=canonical,
            description="核验报告全文（RFC 8785 规范化 JSON） / the signed report, canonical JSON",
            mime="application/json",
        ),
        Attachment(
            name=REPORT_SIG,
            data=signature.encode("utf-8"),
            description="账本密钥对 report.json 的签名 / the ledger key's signature over it",
            mime="text/plain",
        ),
    )
