"""The document of a case report: the data list (电子数据清单) and every item's last check.

One PDF per case, as a court wants it (法发〔2016〕22号 Art. 14): a formal table of the items
with their seal numbers, sizes, intake and status, every item's check values printed whole,
each item's last verification and the report that records it, then the signature blocks.
Landscape, so the table stays readable.
"""

from __future__ import annotations

from api.reports import words as w
from api.reports.document import Digest, Digests, Document, Field, Fields, Section, Table, Text
from api.reports.item import (
    CELL_LIMIT,
    NAME_LIMIT,
    Signing,
    report_signatures,
    signature_blocks,
)
from custody.case_report import CaseItem, CaseReport

TITLE = "电子数据清单及完整性核验汇总 / Electronic Data List and Integrity Verification Summary"


def _verification(item: CaseItem) -> str:
    v = item.verification
    if v is None:
        return "无（已销毁，无内容可核验） / none (disposed: no content left to verify)"
    return f"{w.passed(v.passed)}\n{w.both_times(v.time)}"


def _data_list(report: CaseReport) -> Section:
    rows = tuple(
        (
            str(i.item),
            w.shorten(i.file_name, CELL_LIMIT),
            w.opt(i.seal_no),
            w.size(i.size),
            f"{w.both_times(i.intake_time)}\n{w.shorten(i.technician, 100)}",
            w.named(w.STATUSES, i.status),
            _verification(i),
        )
        for i in report.items
    )
    failed = frozenset(
        n for n, i in enumerate(report.items) if i.verification and not i.verification.passed
    )
    blocks: tuple[Text | Table, ...] = (
        (
            Table(
                headers=(
                    "序号 / No.",
                    "文件名 / File name",
                    "封存编号 / Seal No.",
                    "大小 / Size",
                    "提取时间与提取人 / Intake time and technician",
                    "状态 / Status",
                    "最近核验 / Last verification",
                ),
                rows=rows,
                widths=(5, 21, 12, 13, 19, 11, 19),
                alert_rows=failed,
            ),
        )
        if rows
        else (Text(text="本案无检材 / The case holds no evidence item.", note=True),)
    )
    values = tuple((str(i.item), label, d) for i in report.items for label, d in _check_values(i))
    if values:
        blocks = (
            *blocks,
            Text(text="校验值 / Check values (recorded at intake):", note=True),
            Table(
                headers=("序号 / No.", "算法 / Algorithm", "校验值 / Check value"),
                rows=values,
                widths=(10, 14, 76),
                mono=frozenset({2}),
            ),
        )
    return Section(title="电子数据清单 / Data list", anchor="data-list", blocks=blocks)


def _check_values(item: CaseItem) -> list[tuple[str, str]]:
    """(label, value) of every check value: the stored files, then an image's media and
    what the imager recorded, each level named."""
    image = item.format != "file"
    stored = "（文件 / container）" if image else ""
    rows = [(w.algorithm(a) + stored, d) for a, d in sorted(item.digests.items())]
    media = sorted(item.media_digests.items())
    rows += [(f"{w.algorithm(a)}（介质 / media）", d) for a, d in media]
    rows += [
        (f"{w.algorithm(a)}（成像工具记录 / imager）", d)
        for a, d in sorted(item.stored_digests.items())
    ]
    return rows


def _lineage(item: CaseItem, report: CaseReport) -> list[Field]:
    """Where an image's parts and a derived item come from."""
    rows = []
    if item.format != "file":
        rows.append(Field(label="格式 / Format", value=item.format.upper()))
        rows.append(
            Field(
                label="组成文件 / Parts",
                value=w.shorten(", ".join(item.parts), CELL_LIMIT),
            )
        )
    if item.derived_from is not None:
        parent = item.derived_from.get("evidence", "")
        number = next((i.item for i in report.items if i.evidence_id == parent), None)
        where = f"第 {number} 项 / item {number}, " if number is not None else ""
        path = item.derived_from.get("path") or ""
        rows.append(
            Field(
                label="来源 / Derived from",
                value=f"{where}{parent}" + (f"\n{w.shorten(path, CELL_LIMIT)}" if path else ""),
                mono=True,
            )
        )
    return rows


def _item(item: CaseItem, report: CaseReport) -> Section:
    v = item.verification
    rows = [
        Field(label="检材编号 / Evidence ID", value=item.evidence_id, mono=True),
        Field(label="文件名 / File name", value=w.shorten(item.file_name, NAME_LIMIT)),
        *_lineage(item, report),
        Field(label="描述 / Description", value=w.opt(w.shorten(item.description, 600))),
        Field(label="状态 / Status", value=w.named(w.STATUSES, item.status)),
        Field(
            label="最近核验 / Last verification",
            value=_verification(item),
            alert=v is not None and not v.passed,
        ),
    ]
    if v is not None and v.findings:
        rows.append(
            Field(
                label="核验发现 / Findings",
                value="\n".join(f"• {w.shorten(f, CELL_LIMIT)}" for f in v.findings),
                alert=True,
            )
        )
    blocks: tuple[Fields | Digests, ...] = (Fields(rows=tuple(rows)),)
    if v is not None and v.report_sha256:
        digest = Digest(label="核验报告哈希 / Verification report hash", value=v.report_sha256)
        blocks = (*blocks, Digests(rows=(digest,)))
    return Section(
        title=f"第 {item.item} 项 / Item {item.item}", anchor=f"item-{item.item}", blocks=blocks
    )


def case_document(report: CaseReport, signing: Signing) -> Document:
    """The case report as a document; the PDF embeds its ``report.json`` and signature."""
    r = report
    checked = [i for i in r.items if i.verification is not None]
    failed = [i for i in checked if i.verification is not None and not i.verification.passed]
    disposed = sum(i.status == "disposed" for i in r.items)
    summary = Section(
        title="案件与汇总 / Case and summary",
        anchor="summary",
        blocks=(
            Fields(
                rows=(
                    Field(label="案件编号 / Case number", value=r.case_number),
                    Field(label="案件名称 / Case title", value=w.shorten(r.case_title, NAME_LIMIT)),
                    Field(label="密级 / Classification", value=w.level(r.case_classification)),
                    *(
                        (
                            Field(
                                label="份号 / Copy",
                                value=f"第 {r.copy_no} 份 / copy No. {r.copy_no}",
                            ),
                        )
                        if r.copy_no is not None
                        else ()
                    ),
                    Field(label="承办部门 / Case department", value=w.opt(r.case_department)),
                    Field(label="制作时间 / Made at", value=w.both_times(r.generated_at)),
                    Field(
                        label="制作人 / Made by",
                        value=f"{r.generated_by}（{r.generated_by_department}）",
                    ),
                    Field(label="用途 / Purpose", value=w.opt(w.shorten(r.purpose or "", 600))),
                    Field(
                        label="检材数 / Items",
                        value=f"共 {len(r.items)} 项，核验 {len(checked)} 项，"
                        f"不通过 {len(failed)} 项，"
                        f"已销毁 {disposed} 项 / {len(r.items)} item(s): "
                        f"{len(checked)} verified, {len(failed)} failed, "
                        f"{disposed} disposed",
                        alert=bool(failed),
                    ),
                )
            ),
        ),
    )
    sections = (
        summary,
        _data_list(r),
        *(_item(i, r) for i in r.items),
        report_signatures(r.pdf_certificate_sha256, signing, "汇总"),
        signature_blocks(
            r.generated_by,
            w.named(w.ROLES, r.generated_by_role) if r.generated_by_role else "",
            r.generated_by_department,
            w.beijing(r.generated_at),
        ),
    )
    return Document(
        title=TITLE,
        subtitle=r.case_number,
        mark=r.secrecy_mark or w.classification_mark(r.case_classification),
        header=f"电子数据清单 / Data list · {w.shorten(r.case_number, 60)}",
        banner=f"核验结论 / Conclusion: {w.passed(r.passed)}",
        passed=r.passed,
        sections=sections,
        footer_label="本报告哈希 / Report hash",
        footer_value=signing.report_hash,
        created=r.generated_at,
        author=f"{r.generated_by} ({r.generated_by_department})",
        landscape=True,
    )
