"""One document model for the HTML and the PDF rendering, so both always carry the same facts.

A builder (:mod:`api.reports.item`, :mod:`api.reports.case`) turns a signed report value into
a :class:`Document`; :mod:`api.reports.html` and :mod:`api.reports.pdf` only lay it out.
Check values are :class:`Digest` rows, never table cells, so a renderer can print each one
whole on its own line.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Field:
    label: str
    value: str
    mono: bool = False
    alert: bool = False


@dataclass(frozen=True, kw_only=True)
class Fields:
    """Label / value rows (a two-column table)."""

    rows: tuple[Field, ...]


@dataclass(frozen=True, kw_only=True)
class Table:
    """A table; ``widths`` in per cent of the line; ``mono`` columns hold ASCII values."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...]
    mono: frozenset[int] = frozenset()
    alert_rows: frozenset[int] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Digest:
    """A check value: its label on one line, the value whole on the next (monospace)."""

    label: str
    value: str
    alert: bool = False


@dataclass(frozen=True, kw_only=True)
class Digests:
    rows: tuple[Digest, ...]


@dataclass(frozen=True, kw_only=True)
class Text:
    text: str
    note: bool = False  # a caption or remark, printed smaller
    alert: bool = False


@dataclass(frozen=True, kw_only=True)
class Pre:
    """Verbatim monospace text (a signed note), line breaks kept."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Steps:
    """Numbered instructions: a line indented by five spaces is a command (monospace)."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Signer:
    """One signature block; empty values are lines to be filled in by hand."""

    title: str
    name: str = ""
    role: str = ""
    department: str = ""
    time: str = ""


@dataclass(frozen=True, kw_only=True)
class Signatures:
    """The people who sign the printed report and the marked place for the unit's seal."""

    signers: tuple[Signer, ...]
    seal: str = "单位盖章处 / Place for the unit's seal"


Block = Fields | Table | Digests | Text | Pre | Steps | Signatures


@dataclass(frozen=True, kw_only=True)
class Section:
    title: str
    blocks: tuple[Block, ...]
    anchor: str


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file embedded in the PDF (``pdfdetach -list`` shows it)."""

    name: str
    data: bytes
    description: str
    mime: str


@dataclass(frozen=True, kw_only=True)
class Document:
    title: str
    subtitle: str
    mark: str | None  # 密级★期限, top left of the first page and in every page header
    header: str
    banner: str
    passed: bool
    sections: tuple[Section, ...]
    footer_label: str
    footer_value: str  # the report's own hash: printed whole on every page
    created: str  # RFC 3339
    author: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    landscape: bool = False
