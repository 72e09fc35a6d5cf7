"""Verification reports as a self-contained HTML page and as a PDF, Chinese and English.

Both renderings are built from one document model (:func:`_document`), so the HTML and the
PDF always carry the same facts: case, item, seal number, sizes, every recorded check value
next to the recomputed one, the storage lock, the custody history, the signed checkpoint
with its proofs, the report's own hash and how to verify it all independently.

The PDF embeds Noto Sans SC from the ``justmytype_intl_cjk`` package. That font is a
17 MB *variable* font whose default instance is the Thin weight; instantiating all of it
takes seconds, so we first subset it to the characters the document uses (fontTools, which
fpdf2 itself depends on), then pin the subset to Regular (400) and Bold (700), and hand those
small static fonts to fpdf2, which subsets and embeds them again (``/FontFile2``).
"""

from __future__ import annotations

import html
import io
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path

from custody.report import VerificationReport

FONT_PACKAGE = "justmytype_intl_cjk"
FONT_RESOURCE = ("fonts", "ofl", "notosanssc", "NotoSansSC[wght].ttf")
FONT_FAMILY = "NotoSansSC"

TITLE = "电子数据完整性核验报告 / Electronic Data Integrity Verification Report"

ACTION_NAMES: dict[str, str] = {
    "case.created": "立案登记 / case created",
    "evidence.intake": "提取入库 / intake",
    "evidence.intake_refused": "拒绝入库 / intake refused",
    "evidence.view": "查阅 / viewed",
    "evidence.download": "下载 / downloaded",
    "evidence.download_ended": "下载结束 / download ended",
    "evidence.verification": "完整性核验 / verification",
    "custody.transfer_started": "移交发起 / transfer started",
    "custody.transfer_accepted": "移交接收 / transfer accepted",
    "case.export": "导出数据包 / bundle export",
    "evidence.legal_hold_set": "设置法律保全 / legal hold set",
    "evidence.legal_hold_cleared": "解除法律保全 / legal hold cleared",
    "evidence.disposal_requested": "申请销毁 / disposal requested",
    "evidence.disposal_approved": "批准销毁 / disposal approved",
    "evidence.disposed": "已销毁 / disposed",
    "access.denied": "拒绝访问 / access denied",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- one document model for both renderings ---------------------------------------------


@dataclass(frozen=True)
class _Field:
    label: str
    value: str
    mono: bool = False
    alert: bool = False


@dataclass(frozen=True)
class _Fields:
    rows: list[_Field]


@dataclass(frozen=True)
class _Table:
    headers: list[str]
    rows: list[list[str]]
    widths: list[int]
    mono: frozenset[int] = frozenset()
    alert_rows: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Text:
    text: str
    pre: bool = False
    note: bool = False


_Block = _Fields | _Table | _Text


@dataclass(frozen=True)
class _Section:
    title: str
    blocks: list[_Block] = field(default_factory=list)
    anchor: str = ""


def _yes(value: bool) -> str:
    return "是 / yes" if value else "否 / no"


def _ok(value: bool) -> str:
    return "正常 / OK" if value else "异常 / FAIL"


def _opt(value: object) -> str:
    return "—" if value is None or value == "" else str(value)


def _size(value: int | None) -> str:
    if value is None:
        return "—"
    if value < 1024:
        return str(value)
    amount, index = value / 1024, 0
    while amount >= 1024 and index < 4:
        amount, index = amount / 1024, index + 1
    return f"{value} ({amount:.1f} {('KiB', 'MiB', 'GiB', 'TiB', 'PiB')[index]})"


def _result(report: VerificationReport) -> str:
    return "通过 / PASS" if report.passed else "不通过 / FAIL"


def _action(code: str) -> str:
    name = ACTION_NAMES.get(code)
    return f"{name} ({code})" if name else code


def _findings(items: Sequence[str]) -> _Text:
    if not items:
        return _Text("无 / none", note=True)
    return _Text("\n".join(f"• {f}" for f in items))


def _document(report: VerificationReport, report_hash: str) -> list[_Section]:
    r = report
    digest_rows = [
        [
            d.algorithm.upper(),
            d.recorded,
            _opt(d.recomputed),
            "一致 / match" if d.match else "不一致 / MISMATCH",
        ]
        for d in r.digests
    ]
    custody_rows = [
        [
            str(e.seq),
            e.time,
            f"{e.actor}\n{e.department}",
            _action(e.action) + (f"\n事由 / why: {e.why}" if e.why else ""),
            e.entry_hash,
            f"链 / chain: {_ok(e.chain_ok)}\n证明 / proof: {_ok(e.proof_ok)}",
        ]
        for e in r.custody
    ]
    proof_rows = [
        [
            _opt(p.get("leaf_index")),
            _opt(p.get("tree_size")),
            "\n".join(str(h) for h in p.get("hashes") or []) or "—",
        ]
        for p in r.ledger.proofs
    ]
    lock = r.lock
    return [
        _Section(
            "核验结论 / Result",
            [
                _Fields(
                    [
                        _Field("核验结论 / Result", _result(r), alert=not r.passed),
                        _Field("生成时间 / Generated at", r.generated_at),
                        _Field(
                            "核验人 / Verified by",
                            f"{r.generated_by} ({r.generated_by_department})",
                        ),
                        _Field("报告版本 / Report version", str(r.report_version)),
                    ]
                ),
                _Text("核验发现 / Findings:", note=True),
                _findings(r.findings),
            ],
            "result",
        ),
        _Section(
            "案件 / Case",
            [
                _Fields(
                    [
                        _Field("案件编号 / Case number", r.case_number),
                        _Field("案件名称 / Case title", r.case_title),
                        _Field("密级 / Classification", r.case_classification),
                    ]
                )
            ],
            "case",
        ),
        _Section(
            "检材 / Evidence item",
            [
                _Fields(
                    [
                        _Field("检材编号 / Evidence ID", r.evidence_id, mono=True),
                        _Field("原始文件名 / Original file name", r.original_filename),
                        _Field("文件类型 / Content type", r.content_type),
                        _Field("封存编号 / Seal number", _opt(r.seal_no)),
                        _Field("描述 / Description", _opt(r.description)),
                        _Field("记录大小(字节) / Size recorded (bytes)", _size(r.size_recorded)),
                        _Field(
                            "重新计算大小(字节) / Size recomputed (bytes)",
                            _size(r.size_recomputed),
                            alert=r.size_recomputed is not None
                            and r.size_recomputed != r.size_recorded,
                        ),
                        _Field("提取时间 / Intake time", r.intake_time),
                        _Field("提取技术员 / Intake technician", r.intake_technician),
                        _Field("存储位置 / Storage key", r.storage_key, mono=True),
                        _Field("存储版本 / Storage version", _opt(r.storage_version), mono=True),
                    ]
                )
            ],
            "evidence",
        ),
        _Section(
            "校验值比对 / Check values",
            [
                _Text(
                    f"提取时记录：{r.intake_time}，提取技术员 {r.intake_technician} / "
                    f"Recorded at intake on {r.intake_time} by {r.intake_technician}",
                    note=True,
                ),
                _Table(
                    [
                        "算法 / Algorithm",
                        "提取时记录值 / Recorded at intake",
                        "重新计算值 / Recomputed",
                        "比对结果 / Match",
                    ],
                    digest_rows,
                    [14, 35, 35, 16],
                    mono=frozenset({1, 2}),
                    alert_rows=frozenset(i for i, d in enumerate(r.digests) if not d.match),
                ),
            ],
            "digests",
        ),
        _Section(
            "存储锁定状态 / Storage lock",
            [
                _Fields(
                    [
                        _Field("存储后端 / Backend", lock.backend),
                        _Field("锁定模式 / Retention mode", _opt(lock.mode)),
                        _Field("保留至 / Retained until", _opt(lock.retain_until)),
                        _Field(
                            "应保留至 / Expected retained until", _opt(lock.expected_retain_until)
                        ),
                        _Field("法律保全 / Legal hold", _yes(lock.legal_hold)),
                        _Field(
                            "应有法律保全 / Expected legal hold", _yes(lock.expected_legal_hold)
                        ),
                        _Field("记录版本 / Pinned version", _opt(lock.pinned_version), mono=True),
                        _Field("最新版本 / Latest version", _opt(lock.latest_version), mono=True),
                        _Field("版本数 / Versions", str(lock.versions)),
                        _Field("锁定核验 / Lock check", _ok(lock.ok), alert=not lock.ok),
                    ]
                ),
                _findings(lock.findings),
            ],
            "lock",
        ),
        _Section(
            "保管记录 / Custody history",
            [
                _Table(
                    [
                        "序号 / Seq",
                        "时间 / Time",
                        "人员 / Who",
                        "操作与事由 / What and why",
                        "条目哈希 / Entry hash",
                        "核验 / Checks",
                    ],
                    custody_rows,
                    [9, 16, 15, 22, 20, 18],
                    mono=frozenset({4}),
                    alert_rows=frozenset(
                        i for i, e in enumerate(r.custody) if not (e.chain_ok and e.proof_ok)
                    ),
                )
                if custody_rows
                else _Text("无 / none", note=True)
            ],
            "custody",
        ),
        _Section(
            "检查点与证明 / Checkpoint and proof",
            [
                _Fields(
                    [
                        _Field("树大小 / Tree size", str(r.ledger.tree_size)),
                        _Field("根哈希 / Root hash (base64)", r.ledger.root_b64, mono=True),
                        _Field("验证公钥 / Verifier key", r.ledger.verifier_key, mono=True),
                        _Field("账本核验 / Ledger check", _ok(r.ledger.ok), alert=not r.ledger.ok),
                    ]
                ),
                _findings(r.ledger.findings),
                _Text("签名检查点 / Signed checkpoint (C2SP signed note):", note=True),
                _Text(r.ledger.checkpoint_note, pre=True),
                _Text("包含证明 / Inclusion proofs (RFC 9162):", note=True),
                _Table(
                    [
                        "叶序号 / Leaf index",
                        "树大小 / Tree size",
                        "证明哈希 / Proof hashes (base64)",
                    ],
                    proof_rows,
                    [16, 16, 68],
                    mono=frozenset({2}),
                )
                if proof_rows
                else _Text("无 / none", note=True),
            ],
            "ledger",
        ),
        _Section(
            "本报告哈希 / Report hash",
            [
                _Fields([_Field("SHA-256", report_hash, mono=True)]),
                _Text(
                    "本报告 JSON（RFC 8785 规范化）的 SHA-256 值；报告另附独立签名。 / "
                    "SHA-256 of this report's canonical JSON (RFC 8785); the report carries "
                    "a detached signature.",
                    note=True,
                ),
            ],
            "hash",
        ),
        _Section(
            "独立核验方法 / How to verify independently",
            [_Text(r.how_to_verify_zh, pre=True), _Text(r.how_to_verify_en, pre=True)],
            "how",
        ),
    ]


def _clean(text: str) -> str:
    """Newlines normalized, tabs as spaces, other control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub(" ", text)


# --- HTML ------------------------------------------------------------------------------

_CSS = """
body{font-family:"Noto Sans SC","Noto Sans CJK SC","Source Han Sans SC","PingFang SC",
"Microsoft YaHei",sans-serif;margin:2em auto;max-width:62em;color:#111;line-height:1.45;
padding:0 1em}
h1{font-size:1.5em;border-bottom:2px solid #333;padding-bottom:.3em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #bbb;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#eee}
table.fields th{width:30%}
.mono{font-family:"DejaVu Sans Mono",Consolas,monospace;word-break:break-all;
overflow-wrap:anywhere}
td{white-space:pre-wrap;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;border:1px solid #ddd;
padding:.6em;font-family:"DejaVu Sans Mono",Consolas,monospace}
.note{color:#444;margin:.4em 0}
.banner{font-size:1.3em;font-weight:bold;padding:.5em 1em;margin:1em 0;border-radius:4px}
.pass{background:#dff3df;color:#135e13;border:2px solid #2e8b2e}
.fail{background:#fbe0e0;color:#8b1111;border:2px solid #b22222}
tr.alert td,td.alert{background:#fbe0e0;color:#8b1111;font-weight:bold}
footer{margin-top:2em;font-size:.85em;color:#555;border-top:1px solid #bbb;padding-top:.5em}
@media print{body{margin:0;max-width:none}}
"""


def _e(text: str) -> str:
    return html.escape(_clean(text), quote=True)


def _html_block(block: _Block) -> str:
    if isinstance(block, _Fields):
        rows = []
        for f in block.rows:
            cls = ' class="mono"' if f.mono else ""
            if f.alert:
                cls = ' class="alert mono"' if f.mono else ' class="alert"'
            rows.append(f"<tr><th>{_e(f.label)}</th><td{cls}>{_e(f.value)}</td></tr>")
        return '<table class="fields">' + "".join(rows) + "</table>"
    if isinstance(block, _Table):
        head = "".join(
            f'<th style="width:{w}%">{_e(h)}</th>'
            for h, w in zip(block.headers, block.widths, strict=True)
        )
        body = []
        for i, row in enumerate(block.rows):
            cells = "".join(
                f'<td class="mono">{_e(c)}</td>' if j in block.mono else f"<td>{_e(c)}</td>"
                for j, c in enumerate(row)
            )
            cls = ' class="alert"' if i in block.alert_rows else ""
            body.append(f"<tr{cls}>{cells}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if block.pre:
        return f"<pre>{_e(block.text)}</pre>"
    cls = "note" if block.note else "text"
    return f'<p class="{cls}" style="white-space:pre-wrap">{_e(block.text)}</p>'


def render_html(report: VerificationReport, *, report_hash: str) -> str:
    """A self-contained page (inline CSS, no external resources); every value escaped."""
    sections = _document(report, report_hash)
    verdict = "pass" if report.passed else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f'<meta name="report-hash" content="{_e(report_hash)}">',
        f"<title>{_e(TITLE)} — {_e(report.case_number)} / {_e(report.evidence_id)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(TITLE)}</h1>",
        f'<div class="banner {verdict}">{_e("核验结论 / Result")}: {_e(_result(report))}</div>',
    ]
    for section in sections:
        parts.append(f'<section id="{section.anchor}">')
        parts.append(f"<h2>{_e(section.title)}</h2>")
        parts.extend(_html_block(b) for b in section.blocks)
        parts.append("</section>")
    parts.append(
        f"<footer>{_e('本报告哈希 / Report hash')}: "
        f'<span class="mono">{_e(report_hash)}</span></footer>'
    )
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


# --- PDF -------------------------------------------------------------------------------


def _characters(sections: Iterable[_Section], extra: Iterable[str]) -> set[int]:
    chars: set[int] = set(range(0x20, 0x7F))
    chars.update(ord(c) for c in "—•·：，。（）/ ")

    def add(text: str) -> None:
        chars.update(ord(c) for c in _clean(text) if c not in "\n\t")

    for text in extra:
        add(text)
    for section in sections:
        add(section.title)
        for block in section.blocks:
            if isinstance(block, _Fields):
                for f in block.rows:
                    add(f.label)
                    add(f.value)
            elif isinstance(block, _Table):
                for text in block.headers:
                    add(text)
                for row in block.rows:
                    for text in row:
                        add(text)
            else:
                add(block.text)
    return chars


def _static_fonts(unicodes: set[int], out_dir: Path) -> tuple[Path, Path]:
    """Subset the variable Noto Sans SC to ``unicodes`` and pin Regular and Bold instances."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    resource = files(FONT_PACKAGE).joinpath(*FONT_RESOURCE)
    with as_file(resource) as font_path:
        font = TTFont(str(font_path), lazy=True, recalcTimestamp=False)
        options = subset.Options()
        options.layout_features = []  # no shaping needed for CJK and Latin
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.hinting = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
    paths = []
    for weight, name in ((400, "regular"), (700, "bold")):
        static = instancer.instantiateVariableFont(
            font, {"wght": weight}, static=True, updateFontNames=True
        )
        path = out_dir / f"{FONT_FAMILY}-{name}.ttf"
        buffer = io.BytesIO()
        static.save(buffer)
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths[0], paths[1]


def _pdf_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render_pdf(report: VerificationReport, *, report_hash: str) -> bytes:
    """The same content as :func:`render_html` as an A4 PDF with an embedded CJK font."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos
    from fpdf.fonts import FontFace

    sections = _document(report, report_hash)
    footer_label = "本报告哈希 / Report hash: "
    page_label = "第 {n} 页，共 {nb} 页 / Page {n} of {nb}"
    unicodes = _characters(sections, [TITLE, footer_label, page_label, "0123456789"])

    class _ReportPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-13)
            self.set_font(FONT_FAMILY, "", 6.5)
            self.set_text_color(90, 90, 90)
            self.cell(
                0,
                3.5,
                footer_label + report_hash,
                align="L",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            self.cell(
                0,
                3.5,
                page_label.format(n=self.page_no(), nb="{nb}"),
                align="R",
            )

    with tempfile.TemporaryDirectory(prefix="custody-pdf-") as tmp:
        regular, bold = _static_fonts(unicodes, Path(tmp))
        pdf = _ReportPDF(orientation="P", unit="mm", format="A4")
        pdf.set_creation_date(_pdf_time(report.generated_at))
        pdf.set_title(f"{TITLE} — {report.case_number} / {report.evidence_id}")
        pdf.set_subject(f"report hash {report_hash}")
        pdf.set_author(f"{report.generated_by} ({report.generated_by_department})")
        pdf.set_creator("evidence-custody")
        pdf.set_producer("evidence-custody (fpdf2)")
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_font(FONT_FAMILY, "", str(regular))
        pdf.add_font(FONT_FAMILY, "B", str(bold))
        pdf.add_page()
        width = pdf.epw

        pdf.set_font(FONT_FAMILY, "B", 14)
        pdf.multi_cell(width, 7, TITLE, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        if report.passed:
            pdf.set_fill_color(223, 243, 223)
            pdf.set_text_color(19, 94, 19)
        else:
            pdf.set_fill_color(251, 224, 224)
            pdf.set_text_color(139, 17, 17)
        pdf.set_font(FONT_FAMILY, "B", 13)
        pdf.cell(
            width,
            10,
            f"核验结论 / Result: {_result(report)}",
            fill=True,
            border=1,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(0, 0, 0)
        pdf.set_fill_color(255, 255, 255)

        heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
        alert = FontFace(color=(139, 17, 17), fill_color=(251, 224, 224), emphasis="BOLD")
        for section in sections:
            pdf.ln(3)
            if pdf.will_page_break(40):  # keep a heading with the start of its section
                pdf.add_page()
            pdf.set_font(FONT_FAMILY, "B", 11.5)
            pdf.multi_cell(
                width, 6.5, _clean(section.title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            pdf.set_draw_color(120, 120, 120)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
            pdf.ln(1.5)
            for block in section.blocks:
                pdf.set_font(FONT_FAMILY, "", 8.5)
                if isinstance(block, _Fields):
                    with pdf.table(
                        col_widths=(32, 68),
                        width=width,
                        first_row_as_headings=False,
                        text_align="LEFT",
                        line_height=4.4,
                        padding=1.2,
                        wrapmode=WrapMode.WORD,
                    ) as table:
                        for f in block.rows:
                            row = table.row()
                            row.cell(_clean(f.label), style=heading)
                            row.cell(_clean(f.value), style=alert if f.alert else None)
                elif isinstance(block, _Table):
                    pdf.set_font(FONT_FAMILY, "", 7.5)
                    with pdf.table(
                        col_widths=tuple(block.widths),
                        width=width,
                        text_align="LEFT",
                        line_height=3.9,
                        padding=1.0,
                        headings_style=heading,
                        wrapmode=WrapMode.WORD,
                    ) as table:
                        head = table.row()
                        for h in block.headers:
                            head.cell(_clean(h))
                        for i, cells in enumerate(block.rows):
                            row = table.row()
                            for c in cells:
                                row.cell(_clean(c), style=alert if i in block.alert_rows else None)
                else:
                    if block.note and pdf.will_page_break(25):
                        pdf.add_page()  # a caption stays with what it introduces
                    if block.pre:
                        pdf.set_fill_color(246, 246, 246)
                    pdf.set_font(FONT_FAMILY, "B" if block.note else "", 8.5)
                    pdf.multi_cell(
                        width,
                        4.4,
                        _clean(block.text),
                        fill=block.pre,
                        border=1 if block.pre else 0,
                        padding=2 if block.pre else 0,
                        wrapmode=WrapMode.WORD,
                        align="L",
                        new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT,
                    )
                pdf.ln(1.5)
        data = bytes(pdf.output())
    return data
