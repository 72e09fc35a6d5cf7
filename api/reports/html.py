"""A :class:`~api.reports.document.Document` as one self-contained HTML page.

Inline CSS, no external resource, every value escaped. The 密级 mark stands at the top left
and, when printed, in a header repeated on every page.
"""

from __future__ import annotations

import html

from api.reports.document import (
    Block,
    Digests,
    Document,
    Fields,
    Pre,
    Signatures,
    Steps,
    Table,
    Text,
)
from api.reports.pdf import clean

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
td{white-space:pre-wrap;overflow-wrap:anywhere}
.mono,code,pre{font-family:"DejaVu Sans Mono",Consolas,"Courier New",monospace}
.digest{margin:.35em 0}
.digest .label{color:#444;font-size:.85em}
.digest code{display:block;white-space:nowrap;overflow-x:auto;background:#f6f6f6;
padding:.15em .4em;font-size:.85em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;border:1px solid #ddd;
padding:.6em}
.steps p{margin:.3em 0}
.steps code{display:block;margin:.2em 0 .2em 2em;background:#f0f0f0;padding:.1em .4em}
.note{color:#444;margin:.4em 0;font-weight:bold;font-size:.9em}
.mark{color:#8b1111;font-weight:bold;font-size:1.4em}
.page-mark{display:none}
.banner{font-size:1.3em;font-weight:bold;padding:.5em 1em;margin:1em 0;border-radius:4px}
.pass{background:#dff3df;color:#135e13;border:2px solid #2e8b2e}
.fail{background:#fbe0e0;color:#8b1111;border:2px solid #b22222}
tr.alert td,td.alert,.digest.alert code{background:#fbe0e0;color:#8b1111;font-weight:bold}
.signatures{display:flex;gap:1em;margin-top:1em}
.signer{flex:1;border:1px solid #777;padding:.5em}
.signer div{border-bottom:1px solid #999;margin:.6em 0;min-height:1.4em}
.seal{width:11em;min-height:10em;border:2px dashed #8b1111;color:#8b1111;text-align:center;
padding:.5em}
footer{margin-top:2em;font-size:.85em;color:#555;border-top:1px solid #bbb;padding-top:.5em}
@media print{body{margin:0;max-width:none}
.page-mark{display:block;position:fixed;top:0;left:0;color:#8b1111;font-weight:bold}}
"""


def _e(text: str) -> str:
    return html.escape(clean(text), quote=True)


def _block(block: Block) -> str:
    if isinstance(block, Fields):
        rows = []
        for f in block.rows:
            classes = " ".join(
                c for c in ("mono" if f.mono else "", "alert" if f.alert else "") if c
            )
            cls = f' class="{classes}"' if classes else ""
            rows.append(f"<tr><th>{_e(f.label)}</th><td{cls}>{_e(f.value)}</td></tr>")
        return '<table class="fields">' + "".join(rows) + "</table>"
    if isinstance(block, Table):
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
    if isinstance(block, Digests):
        return "".join(
            f'<div class="digest{" alert" if d.alert else ""}"><div class="label">{_e(d.label)}'
            f"</div><code>{_e(d.value)}</code></div>"
            for d in block.rows
        )
    if isinstance(block, Pre):
        return f"<pre>{_e(block.text)}</pre>"
    if isinstance(block, Steps):
        parts = []
        for line in clean(block.text).split("\n"):
            if line.startswith("     "):
                parts.append(f"<code>{_e(line.strip())}</code>")
            else:
                parts.append(f"<p>{_e(line.replace('`', ''))}</p>")
        return '<div class="steps">' + "".join(parts) + "</div>"
    if isinstance(block, Signatures):
        boxes = []
        for s in block.signers:
            signer_rows = (
                ("姓名 / Name", s.name),
                ("职务 / Role", s.role),
                ("部门 / Department", s.department),
                ("时间 / Time", s.time),
                ("签名 / Signature", ""),
            )
            lines = "".join(f"<div>{_e(label)}: {_e(value)}</div>" for label, value in signer_rows)
            boxes.append(f'<div class="signer"><strong>{_e(s.title)}</strong>{lines}</div>')
        seal = f'<div class="seal">{_e(block.seal)}<br><br><br>年　月　日</div>'
        return '<div class="signatures">' + "".join(boxes) + seal + "</div>"
    assert isinstance(block, Text)
    cls = "note" if block.note else "text"
    return f'<p class="{cls}" style="white-space:pre-wrap">{_e(block.text)}</p>'


def render_document_html(doc: Document) -> str:
    verdict = "pass" if doc.passed else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f'<meta name="report-hash" content="{_e(doc.footer_value)}">',
        f"<title>{_e(doc.title)} — {_e(doc.subtitle)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    if doc.mark:
        parts.append(f'<div class="page-mark">{_e(doc.mark)}</div>')
        parts.append(f'<div class="mark">{_e(doc.mark)}</div>')
    parts.append(f"<h1>{_e(doc.title)}</h1>")
    parts.append(f'<p class="note">{_e(doc.subtitle)}</p>')
    parts.append(f'<div class="banner {verdict}">{_e(doc.banner)}</div>')
    for section in doc.sections:
        parts.append(f'<section id="{_e(section.anchor)}">')
        parts.append(f"<h2>{_e(section.title)}</h2>")
        parts.extend(_block(b) for b in section.blocks)
        parts.append("</section>")
    parts.append(
        f'<footer>{_e(doc.footer_label)}: <span class="mono">{_e(doc.footer_value)}</span></footer>'
    )
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"
