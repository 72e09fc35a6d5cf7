"""A :class:`~api.reports.document.Document` as an A4 PDF (fpdf2), not yet signed.

Check values are printed in Courier (a standard PDF font, nothing to embed), one value per
line and sized to fit the line, so a value is never split and ``pdftotext`` gives it as one
token. Other text is Noto Sans SC (:mod:`api.reports.fonts`) and wraps anywhere, so an
unbroken 9,000-character value cannot overflow a cell. The 密级 mark stands at the top left
of the first page and in the header of every page; the report's own hash is in every footer.
The PAdES signature is added afterwards (:mod:`api.reports.signing`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from api.reports import fonts, words
from api.reports.document import (
    Block,
    Digests,
    Document,
    Field,
    Fields,
    Pre,
    Signatures,
    Signer,
    Steps,
    Table,
)

MONO = "Courier"
SANS = fonts.FONT_FAMILY
COURIER_ADVANCE = 0.6  # every Courier glyph is 600/1000 em wide
PT = 25.4 / 72  # mm per point
DIGEST_PT = 8.5
MIN_DIGEST_PT = 4.5
ALERT = (139, 17, 17)
ALERT_FILL = (251, 224, 224)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str) -> str:
    """Newlines normalized, tabs as spaces, other control characters shown as spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub(" ", text)


def _latin(text: str) -> bool:
    """Printable with the standard Courier font (Latin-1, no control characters)."""
    return all(0x20 <= ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF for c in text)


def _texts(doc: Document) -> Iterator[str]:
    """Every text the document prints (for the font subset)."""
    yield from (doc.title, doc.subtitle, doc.header, doc.banner, doc.footer_label)
    yield from (doc.mark or "", "第 页，共 页 / Page of 0123456789")
    yield from ("姓名 / Name", "职务 / Role", "部门 / Department", "时间 / Time")
    yield from ("签名 / Signature", "年 月 日", "复核人", "核验人")
    for section in doc.sections:
        yield section.title
        for block in section.blocks:
            yield from _block_texts(block)


def _block_texts(block: Block) -> Iterable[str]:
    if isinstance(block, Fields):
        return [t for f in block.rows for t in (f.label, f.value)]
    if isinstance(block, Table):
        return [*block.headers, *(c for row in block.rows for c in row)]
    if isinstance(block, Digests):
        return [t for d in block.rows for t in (d.label, d.value)]
    if isinstance(block, Signatures):
        return [block.seal, *(t for s in block.signers for t in _signer_texts(s))]
    return [block.text]


def _signer_texts(s: Signer) -> list[str]:
    return [s.title, s.name, s.role, s.department, s.time]


def _created(doc: Document) -> datetime:
    moment = words.parse_time(doc.created)
    return moment or datetime(2000, 1, 1, tzinfo=UTC)


def render_document_pdf(doc: Document) -> bytes:
    """The unsigned PDF, with ``doc.attachments`` embedded; deterministic for one document."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos
    from fpdf.fonts import FontFace

    font_files = fonts.fonts_for(fonts.characters(clean(t) for t in _texts(doc)))
    page_label = "第 {n} 页，共 {nb} 页 / Page {n} of {nb}"

    class _PDF(FPDF):
        def header(self) -> None:
            self.set_y(6)
            self.set_text_color(90, 90, 90)
            if self.page_no() == 1 and doc.mark:
                self.set_font(SANS, "B", 15)
                self.set_text_color(*ALERT)
                self.cell(0, 8, doc.mark, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                self.set_text_color(90, 90, 90)
            elif doc.mark:
                self.set_font(SANS, "B", 8)
                self.set_text_color(*ALERT)
                self.cell(30, 4, doc.mark, align="L")
                self.set_text_color(90, 90, 90)
            if self.page_no() > 1:
                self.set_font(SANS, "", 6.5)
                self.set_x(self.l_margin)
                self.cell(0, 4, clean(doc.header)[:160], align="R")
                self.set_draw_color(170, 170, 170)
                self.line(self.l_margin, 11, self.w - self.r_margin, 11)
            self.set_text_color(0, 0, 0)
            self.set_y(max(self.get_y() + 4, self.t_margin))

        def footer(self) -> None:
            self.set_y(-13)
            self.set_text_color(90, 90, 90)
            self.set_font(SANS, "", 6.5)
            label = f"{doc.footer_label}: "
            self.cell(self.get_string_width(label), 3.5, label)
            self.set_font(MONO, "", 6.5)
            self.cell(0, 3.5, doc.footer_value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_font(SANS, "", 6.5)
            self.cell(0, 3.5, page_label.format(n=self.page_no(), nb="{nb}"), align="R")
            self.set_text_color(0, 0, 0)

    pdf = _PDF(orientation="L" if doc.landscape else "P", unit="mm", format="A4")
    pdf.set_creation_date(_created(doc))
    pdf.set_title(f"{doc.title} — {doc.subtitle}")
    pdf.set_subject(f"report hash {doc.footer_value}")
    pdf.set_author(doc.author)
    pdf.set_creator("evidence-custody")
    pdf.set_producer("evidence-custody (fpdf2)")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font(SANS, "", str(font_files.regular))
    pdf.add_font(SANS, "B", str(font_files.bold))
    for attachment in doc.attachments:
        pdf.embed_file(
            bytes=attachment.data,
            basename=attachment.name,
            desc=attachment.description,
            mime_type=attachment.mime,
            modification_date=_created(doc),
            creation_date=_created(doc),
            compress=False,
        )
    pdf.add_page()
    width = pdf.epw
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    alert = FontFace(color=ALERT, fill_color=ALERT_FILL, emphasis="BOLD")

    def mono_face(size: float, colour: Any = None) -> FontFace:
        return FontFace(family=MONO, size_pt=size, color=colour)

    def fit(text: str, room: float, size: float = DIGEST_PT) -> float:
        """The Courier size at which ``text`` fits ``room`` mm on one line."""
        needed = max(len(text), 1) * COURIER_ADVANCE * PT
        return max(MIN_DIGEST_PT, min(size, room / needed))

    def paragraph(text: str, size: float, *, bold: bool = False, colour: Any = None) -> None:
        pdf.set_font(SANS, "B" if bold else "", size)
        if colour:
            pdf.set_text_color(*colour)
        pdf.multi_cell(
            width,
            size * 0.52,
            clean(text),
            wrapmode=WrapMode.WORD,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(0, 0, 0)

    def mono_line(text: str, *, indent: float = 0, colour: Any = None, fill: bool = False) -> None:
        """One value on one line: Courier sized to fit, or wrapped Sans if not Latin."""
        text = clean(text)
        pdf.set_x(pdf.l_margin + indent)
        room = width - indent
        if colour:
            pdf.set_text_color(*colour)
        if _latin(text) and len(text) * COURIER_ADVANCE * PT * MIN_DIGEST_PT <= room:
            size = fit(text, room - 1)
            pdf.set_font(MONO, "", size)
            pdf.cell(room, size * 0.5, text, fill=fill, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif _latin(text):  # too long for one line even small: wrap, in Courier
            pdf.set_font(MONO, "", 7)
            pdf.multi_cell(
                room,
                3.5,
                text,
                wrapmode=WrapMode.CHAR,
                fill=fill,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        else:
            pdf.set_font(SANS, "", 7.5)
            pdf.multi_cell(
                room,
                3.9,
                text,
                wrapmode=WrapMode.CHAR,
                fill=fill,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        pdf.set_text_color(0, 0, 0)

    def value_style(f: Field) -> FontFace | None:
        if f.mono and _latin(f.value):
            return FontFace(
                family=MONO,
                size_pt=7.5,
                color=ALERT if f.alert else None,
                fill_color=ALERT_FILL if f.alert else None,
            )
        return alert if f.alert else None

    def fields(block: Fields) -> None:
        pdf.set_font(SANS, "", 8.5)
        with pdf.table(
            col_widths=(30, 70),
            width=width,
            first_row_as_headings=False,
            text_align="LEFT",
            line_height=4.4,
            padding=1.2,
            wrapmode=WrapMode.WORD,
        ) as table:
            for f in block.rows:
                row = table.row()
                row.cell(clean(f.label), style=heading)
                row.cell(clean(f.value), style=value_style(f))

    def table(block: Table) -> None:
        pdf.set_font(SANS, "", 7.5)
        mono_sizes = {
            j: min(
                (
                    fit(r[j], width * block.widths[j] / sum(block.widths) - 2.5, 7.5)
                    for r in block.rows
                ),
                default=7.5,
            )
            for j in block.mono
        }
        with pdf.table(
            col_widths=block.widths,
            width=width,
            text_align="LEFT",
            line_height=3.9,
            padding=1.0,
            headings_style=heading,
            wrapmode=WrapMode.WORD,
        ) as t:
            head = t.row()
            for h in block.headers:
                head.cell(clean(h))
            for i, cells in enumerate(block.rows):
                row = t.row()
                for j, c in enumerate(cells):
                    if j in block.mono and _latin(c):
                        colour = ALERT if i in block.alert_rows else None
                        row.cell(clean(c), style=mono_face(mono_sizes[j], colour))
                    else:
                        row.cell(clean(c), style=alert if i in block.alert_rows else None)

    def digests(block: Digests) -> None:
        for d in block.rows:
            if pdf.will_page_break(9):
                pdf.add_page()
            pdf.set_font(SANS, "B" if d.alert else "", 7.5)
            pdf.set_text_color(*(ALERT if d.alert else (70, 70, 70)))
            pdf.multi_cell(
                width,
                3.8,
                clean(d.label),
                wrapmode=WrapMode.CHAR,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.set_fill_color(*(ALERT_FILL if d.alert else (246, 246, 246)))
            mono_line(d.value, indent=3, colour=ALERT if d.alert else None, fill=True)
            pdf.set_fill_color(255, 255, 255)
            pdf.ln(1.2)

    def pre(block: Pre) -> None:
        pdf.set_fill_color(246, 246, 246)
        for line in clean(block.text).rstrip("\n").split("\n"):
            mono_line(line or " ", indent=2, fill=True)
        pdf.set_fill_color(255, 255, 255)

    def steps(block: Steps) -> None:
        for line in clean(block.text).split("\n"):
            if line.startswith("     "):
                pdf.set_fill_color(240, 240, 240)
                mono_line(line.strip(), indent=8, fill=True)
                pdf.set_fill_color(255, 255, 255)
            else:
                pdf.set_x(pdf.l_margin)
                paragraph(line.replace("`", ""), 8.5)
        pdf.ln(1)

    def signatures(block: Signatures) -> None:
        height = 46.0
        if pdf.will_page_break(height + 4):
            pdf.add_page()
        gap = 4.0
        seal_w = 46.0
        box_w = (width - seal_w - gap * len(block.signers)) / max(len(block.signers), 1)
        top = pdf.get_y()
        x = pdf.l_margin
        for signer in block.signers:
            pdf.set_draw_color(120, 120, 120)
            pdf.rect(x, top, box_w, height)
            pdf.set_xy(x + 2, top + 2)
            pdf.set_font(SANS, "B", 9)
            pdf.cell(box_w - 4, 5, clean(signer.title))
            rows = (
                ("姓名 / Name", signer.name),
                ("职务 / Role", signer.role),
                ("部门 / Department", signer.department),
                ("时间 / Time", signer.time),
                ("签名 / Signature", ""),
            )
            y = top + 8.5
            for label, value in rows:
                pdf.set_xy(x + 2, y)
                pdf.set_font(SANS, "", 7)
                pdf.cell(24, 4, label)
                pdf.set_font(SANS, "", 7)
                room = box_w - 28
                shown = clean(value).split("\n")[0]
                while shown and pdf.get_string_width(shown) > room:
                    shown = shown[:-1]
                pdf.cell(room, 4, shown)
                pdf.line(x + 26, y + 4.3, x + box_w - 2, y + 4.3)
                y += 7
            x += box_w + gap
        # the marked place for the unit's seal (盖章处), left empty for the seal itself
        pdf.set_draw_color(*ALERT)
        pdf.set_dash_pattern(dash=1.2, gap=1.0)
        pdf.rect(x, top, seal_w, height)
        pdf.set_dash_pattern()
        pdf.set_xy(x, top + 2)
        pdf.set_font(SANS, "", 7)
        pdf.set_text_color(*ALERT)
        pdf.multi_cell(
            seal_w, 3.6, clean(block.seal), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_xy(x, top + height - 7)
        pdf.cell(seal_w, 4, "年    月    日", align="C")
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_xy(pdf.l_margin, top + height + 2)

    # title, subject and the conclusion
    paragraph(doc.title, 14, bold=True)
    paragraph(doc.subtitle, 9, colour=(70, 70, 70))
    pdf.ln(2)
    fill, colour = ((223, 243, 223), (19, 94, 19)) if doc.passed else (ALERT_FILL, ALERT)
    pdf.set_fill_color(*fill)
    pdf.set_text_color(*colour)
    pdf.set_font(SANS, "B", 13)
    pdf.cell(width, 10, clean(doc.banner), fill=True, border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)

    for section in doc.sections:
        pdf.ln(3)
        if pdf.will_page_break(40):  # keep a heading with the start of its section
            pdf.add_page()
        paragraph(section.title, 11.5, bold=True)
        pdf.set_draw_color(120, 120, 120)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.set_draw_color(0, 0, 0)
        pdf.ln(1.5)
        for block in section.blocks:
            if isinstance(block, Fields):
                fields(block)
            elif isinstance(block, Table):
                table(block)
            elif isinstance(block, Digests):
                digests(block)
            elif isinstance(block, Pre):
                pre(block)
            elif isinstance(block, Steps):
                steps(block)
            elif isinstance(block, Signatures):
                signatures(block)
            else:
                if block.note and pdf.will_page_break(25):
                    pdf.add_page()  # a caption stays with what it introduces
                paragraph(
                    block.text,
                    7.5 if block.note else 8.5,
                    bold=block.note,
                    colour=ALERT if block.alert else None,
                )
            pdf.ln(1.5)
    return bytes(pdf.output())
