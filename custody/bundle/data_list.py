"""The data list (电子数据清单, 法发〔2016〕22号 Art. 14) as CSV that Excel opens in any locale.

One row per item: number, ids, what it is (its format: file, ewf, raw), its seal number and
size, every check value by algorithm, the values the imaging tool declared, for an image its
media digests, the hashes the imager stored in it and its parts in order, when and by
whom it was taken in (UTC as the ledger records it, and Beijing time), and how it is
stored. UTF-8 with a BOM, so that Excel in a Chinese locale reads it as UTF-8; RFC 4180
quoting; formula-like cells escaped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, timezone

from custody.errors import MalformedMetadata
from custody.ledger import parse_rfc3339

BOM = "\ufeff"
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
DIGEST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("blake3", "BLAKE3"),
    ("sha256", "SHA-256"),
    ("sha1", "SHA-1"),
    ("md5", "MD5"),
    ("sm3", "SM3"),
)
HEADER: tuple[str, ...] = (
    "序号/No.",
    "证据编号/Evidence ID",
    "案件编号/Case No.",
    "类别/Category",
    "文件名/File name",
    "格式/Format",
    "描述/Description",
    "封存编号/Seal No.",
    "大小(字节)/Size (bytes)",
    *(f"{label} 校验值/{label}" for _, label in DIGEST_COLUMNS),
    "申报校验值(取证工具)/Declared values (imaging tool)",
    "介质校验值/Media digests (image)",
    "镜像内存储的校验值/Imager's stored values",
    "分段文件/Parts",
    "提取时间(UTC)/Intake time (UTC)",
    "提取时间(北京时间)/Intake time (Beijing, UTC+8)",
    "提取人/Technician",
    "提取部门/Department",
    "存储/Storage",
    "保存期限至(UTC)/Retained until (UTC)",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass(frozen=True, kw_only=True)
class DataListRow:
    """One line of the data list."""

    item: int
    evidence_id: str
    case: str
    category: str
    file_name: str
    format: str
    description: str
    seal_no: str | None
    size: int
    digests: dict[str, str]
    declared: dict[str, str] = field(default_factory=dict)
    media_digests: dict[str, str] = field(default_factory=dict)
    stored_digests: dict[str, str] = field(default_factory=dict)
    parts: str = ""  # "img.E01 sha256=…; img.E02 sha256=…" in segment order
    intake_time: str
    technician: str
    technician_department: str
    storage: str
    retention_until: str | None


def beijing_time(rfc3339_utc: str) -> str:
    """``2026-02-27 17:00:00 +08:00`` for a recorded UTC time (seconds, no fraction)."""
    moment = parse_rfc3339(rfc3339_utc).astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S +08:00")


def safe_cell(text: str) -> str:
    """Neutralize spreadsheet formulas: a leading = + - @ TAB CR (or ') gets a ' prefix."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _pairs(values: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(values.items()))


def _parse_pairs(text: str, number: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        algorithm, eq, value = part.partition("=")
        if not eq:
            raise MalformedMetadata(f"data list line {number}: {part!r} is not ALGO=HEX")
        out[algorithm.strip()] = value.strip()
    return out


def data_list_csv(rows: Sequence[DataListRow]) -> str:
    """The CSV text, BOM first; :func:`parse_data_list_csv` reads it back exactly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                str(row.item),
                safe_cell(row.evidence_id),
                safe_cell(row.case),
                safe_cell(row.category),
                safe_cell(row.file_name),
                safe_cell(row.format),
                safe_cell(row.description),
                safe_cell(row.seal_no or ""),
                str(row.size),
                *(row.digests.get(algorithm, "") for algorithm, _ in DIGEST_COLUMNS),
                safe_cell(_pairs(row.declared)),
                safe_cell(_pairs(row.media_digests)),
                safe_cell(_pairs(row.stored_digests)),
                safe_cell(row.parts),
                row.intake_time,
                beijing_time(row.intake_time),
                safe_cell(row.technician),
                safe_cell(row.technician_department),
                safe_cell(row.storage),
                row.retention_until or "",
            ]
        )
    return BOM + buffer.getvalue()


def parse_data_list_csv(text: str) -> list[DataListRow]:
    """Read back :func:`data_list_csv`; MalformedMetadata names the bad line."""
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=""))
    try:
        lines = list(reader)
    except csv.Error as e:
        raise MalformedMetadata(f"data list is not valid CSV: {e}") from e
    if not lines or tuple(lines[0]) != HEADER:
        raise MalformedMetadata("data list does not start with the expected header")
    rows: list[DataListRow] = []
    for number, cells in enumerate(lines[1:], start=2):
        if not cells:
            continue
        if len(cells) != len(HEADER):
            raise MalformedMetadata(
                f"data list line {number} has {len(cells)} cells, expected {len(HEADER)}"
            )
        item, evidence_id, case, category, file_name, fmt, description, seal, size = cells[:9]
        digest_cells = cells[9 : 9 + len(DIGEST_COLUMNS)]
        (
            declared,
            media,
            stored,
            parts,
            utc,
            _beijing,
            technician,
            department,
            storage,
            retained,
        ) = cells[9 + len(DIGEST_COLUMNS) :]
        if not item.isdigit() or not size.isdigit():
            raise MalformedMetadata(f"data list line {number}: number and size must be numbers")
        rows.append(
            DataListRow(
                item=int(item),
                evidence_id=_uncell(evidence_id),
                case=_uncell(case),
                category=_uncell(category),
                file_name=_uncell(file_name),
                format=_uncell(fmt),
                description=_uncell(description),
                seal_no=_uncell(seal) or None,
                size=int(size),
                digests={
                    algorithm: value
                    for (algorithm, _), value in zip(DIGEST_COLUMNS, digest_cells, strict=True)
                    if value
                },
                declared=_parse_pairs(_uncell(declared), number),
                media_digests=_parse_pairs(_uncell(media), number),
                stored_digests=_parse_pairs(_uncell(stored), number),
                parts=_uncell(parts),
                intake_time=utc,
                technician=_uncell(technician),
                technician_department=_uncell(department),
                storage=_uncell(storage),
                retention_until=retained or None,
            )
        )
    return rows
