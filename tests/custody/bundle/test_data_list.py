"""The data list (电子数据清单): every column, read back with the csv module as Excel would."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from custody.bundle.data_list import (
    HEADER,
    DataListRow,
    beijing_time,
    data_list_csv,
    parse_data_list_csv,
)
from custody.errors import MalformedMetadata

SHA = hashlib.sha256(b"evidence").hexdigest()
B3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
MD5 = hashlib.md5(b"evidence").hexdigest()


def row(item: int, **changes: object) -> DataListRow:
    values: dict[str, object] = {
        "item": item,
        "evidence_id": f"0b6e-{item}",
        "case": "2026-XS-0117",
        "category": "application",
        "file_name": f"image-{item}.E01",
        "format": "application/octet-stream",
        "description": "手机镜像，全盘",
        "seal_no": f"封-2026-{item:03d}",
        "size": 123456789,
        "digests": {"blake3": B3, "sha256": SHA, "md5": MD5},
        "declared": {"md5": MD5},
        "intake_time": "2026-02-27T16:30:05.123456Z",
        "technician": "li.wei",
        "technician_department": "网络安全保卫支队",
        "storage": "s3 (COMPLIANCE)",
        "retention_until": "2056-02-27T16:30:05.123456Z",
    }
    values.update(changes)
    return DataListRow(**values)  # type: ignore[arg-type]


def test_every_column_reads_back_with_the_csv_module() -> None:
    rows = [row(1), row(2, seal_no=None, declared={}, digests={"blake3": B3, "sha256": SHA})]
    text = data_list_csv(rows)
    assert text.startswith("\ufeff")  # Excel in a Chinese locale then reads UTF-8
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert tuple(table[0]) == HEADER
    first = table[0]
    assert first["序号/No."] == "1"
    assert first["证据编号/Evidence ID"] == "0b6e-1"
    assert first["案件编号/Case No."] == "2026-XS-0117"
    assert first["类别/Category"] == "application"
    assert first["文件名/File name"] == "image-1.E01"
    assert first["格式/Format"] == "application/octet-stream"
    assert first["描述/Description"] == "手机镜像，全盘"
    assert first["封存编号/Seal No."] == "封-2026-001"
    assert first["大小(字节)/Size (bytes)"] == "123456789"
    assert first["BLAKE3 校验值/BLAKE3"] == B3
    assert first["SHA-256 校验值/SHA-256"] == SHA
    assert first["MD5 校验值/MD5"] == MD5
    assert first["SHA-1 校验值/SHA-1"] == "" and first["SM3 校验值/SM3"] == ""
    assert first["申报校验值(取证工具)/Declared values (imaging tool)"] == f"md5={MD5}"
    assert first["提取时间(UTC)/Intake time (UTC)"] == "2026-02-27T16:30:05.123456Z"
    # 16:30 UTC is half past midnight the next day in Beijing
    assert first["提取时间(北京时间)/Intake time (Beijing, UTC+8)"] == "2026-02-28 00:30:05 +08:00"
    assert first["提取人/Technician"] == "li.wei"
    assert first["提取部门/Department"] == "网络安全保卫支队"
    assert first["存储/Storage"] == "s3 (COMPLIANCE)"
    assert first["保存期限至(UTC)/Retained until (UTC)"] == "2056-02-27T16:30:05.123456Z"
    assert table[1]["封存编号/Seal No."] == "" and table[1]["MD5 校验值/MD5"] == ""
    assert parse_data_list_csv(text) == rows


def test_quotes_commas_newlines_and_formulas_survive() -> None:
    rows = [
        row(1, file_name='iPhone "13", 张某.E01', description="多行\n描述"),
        row(2, file_name='=HYPERLINK("http://x")', description="'quoted", technician="@x"),
    ]
    text = data_list_csv(rows)
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert '"iPhone ""13"", 张某.E01"' in text
    assert table[1][4] == 'iPhone "13", 张某.E01'
    assert table[1][6] == "多行\n描述"
    assert table[2][4].startswith("'=")  # a spreadsheet must not run it as a formula
    assert parse_data_list_csv(text) == rows


def test_beijing_time_is_utc_plus_eight_without_fraction() -> None:
    assert beijing_time("2026-12-31T23:59:59.999999Z") == "2027-01-01 07:59:59 +08:00"


def test_a_malformed_data_list_is_refused_with_its_line() -> None:
    with pytest.raises(MalformedMetadata, match="header"):
        parse_data_list_csv("a,b\r\n")
    good = data_list_csv([])
    with pytest.raises(MalformedMetadata, match="line 2 has 2 cells"):
        parse_data_list_csv(good + "1,2\r\n")
    bad = data_list_csv([row(1)]).replace("123456789", "12x")
    with pytest.raises(MalformedMetadata, match="line 2"):
        parse_data_list_csv(bad)
