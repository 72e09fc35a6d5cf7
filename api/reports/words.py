"""Every value a report shows, in Chinese and English: levels, states, actions, times, sizes.

A court reads the printed words, so no internal code is left untranslated: an unknown code
is shown as it is, next to nothing, rather than dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
NONE = "无 / none"
BLANK = "—"

LEVELS: dict[str, tuple[str, str]] = {
    "public": ("公开", "public"),
    "internal": ("内部", "internal"),
    "secret": ("秘密", "secret"),
    "confidential": ("机密", "confidential"),
    "top_secret": ("绝密", "top secret"),
}
_LEVEL_ALIASES = {zh: code for code, (zh, _) in LEVELS.items()}
# State secrets (保守国家秘密法): only these three levels carry the 密级★期限 mark.
CLASSIFIED = ("secret", "confidential", "top_secret")

STATUSES: dict[str, str] = {
    "in_custody": "在库保管 / in custody",
    "disposal_requested": "已申请销毁 / disposal requested",
    "disposal_approved": "已批准销毁 / disposal approved",
    "disposed": "已销毁 / disposed",
    "unknown": "未知 / unknown",
}

ROLES: dict[str, str] = {
    "admin": "系统管理员 / administrator",
    "technician": "取证技术员 / forensic technician",
    "investigator": "侦查员 / investigator",
    "prosecutor": "检察官 / prosecutor",
    "defense": "辩护人 / defence lawyer",
    "judge": "审判人员 / judge",
    "auditor": "监督人员 / auditor",
}

BACKENDS: dict[str, str] = {
    "local": "本地一次写入存储 / local write-once folder",
    "s3": "S3 对象锁定存储 / S3 with Object Lock",
}

LOCK_MODES: dict[str, str] = {
    "COMPLIANCE": "合规锁定（任何人不可删改）/ COMPLIANCE (no one can change or delete)",
    "GOVERNANCE": "治理锁定 / GOVERNANCE",
    "LOCAL-WORM": "本地只读锁定 / LOCAL-WORM (read-only files)",
}

ALGORITHMS: dict[str, str] = {
    "blake3": "BLAKE3",
    "sha256": "SHA-256",
    "sha1": "SHA-1",
    "md5": "MD5",
    "sm3": "SM3",
}

ACTIONS: dict[str, str] = {
    "case.created": "立案登记 / case created",
    "evidence.intake": "提取入库 / intake",
    "evidence.intake_refused": "拒绝入库 / intake refused",
    "evidence.upload_abandoned": "上传中止（过期） / upload abandoned",
    "evidence.view": "查阅 / viewed",
    "evidence.download": "下载 / downloaded",
    "evidence.verification": "完整性核验 / verification",
    "custody.transfer_started": "移交发起 / transfer started",
    "custody.transfer_accepted": "移交接收 / transfer accepted",
    "case.export": "导出数据包 / bundle export",
    "evidence.legal_hold_set": "设置法律保全 / legal hold set",
    "evidence.legal_hold_cleared": "解除法律保全 / legal hold cleared",
    "evidence.retention_extended": "延长保存期限 / retention extended",
    "evidence.disposal_requested": "申请销毁 / disposal requested",
    "evidence.disposal_approved": "批准销毁 / disposal approved",
    "evidence.disposal_failed": "销毁未完成 / disposal failed (to be retried)",
    "evidence.disposed": "已销毁 / disposed",
    "access.denied": "拒绝访问 / access denied",
    "grant.created": "授权 / access granted",
    "grant.revoked": "撤销授权 / access revoked",
}


def level_code(value: str) -> str | None:
    """``internal`` for "internal", "内部" or "Internal"; None for an unknown value."""
    text = value.strip()
    if text in _LEVEL_ALIASES:
        return _LEVEL_ALIASES[text]
    code = text.lower().replace("-", "_").replace(" ", "_")
    return code if code in LEVELS else None


def level(value: str) -> str:
    """``内部 / internal``; an unknown level is shown as given."""
    code = level_code(value)
    if code is None:
        return value or BLANK
    zh, en = LEVELS[code]
    return f"{zh} / {en}"


def classification_mark(value: str, period: str | None = None) -> str | None:
    """The 密级★期限 mark of a classified case: ``机密★10年``, or ``机密`` until a period is set.

    ``period`` is the hook for the secrecy period (保密期限): cases record none yet, so the
    level alone is printed, as the rule requires until one is fixed.
    """
    code = level_code(value)
    if code not in CLASSIFIED:
        return None
    zh = LEVELS[code][0]
    return f"{zh}★{period}" if period else zh


def named(table: dict[str, str], code: str | None) -> str:
    """The translated name of a code; an unknown code as it is."""
    if code is None or code == "":
        return BLANK
    return table.get(code, code)


def action(code: str) -> str:
    return ACTIONS.get(code, code)


def algorithm(code: str) -> str:
    return ALGORITHMS.get(code, code.upper())


def yes(value: bool) -> str:
    return "是 / yes" if value else "否 / no"


def ok(value: bool) -> str:
    return "正常 / OK" if value else "异常 / FAIL"


def passed(value: bool) -> str:
    return "通过 / PASS" if value else "不通过 / FAIL"


def match(value: bool) -> str:
    return "一致 / match" if value else "不一致 / MISMATCH"


def opt(value: object) -> str:
    return BLANK if value is None or value == "" else str(value)


def size(value: int | None) -> str:
    """Bytes, exact, with a binary unit beside large values."""
    if value is None:
        return BLANK
    if value < 1024:
        return f"{value} 字节 / bytes"
    amount, index = value / 1024, 0
    while amount >= 1024 and index < 4:
        amount, index = amount / 1024, index + 1
    unit = ("KiB", "MiB", "GiB", "TiB", "PiB")[index]
    return f"{value} 字节 / bytes ({amount:.1f} {unit})"


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc(text: str) -> str:
    """``2026-02-27 10:01:02 UTC`` (seconds, no fraction); an unparsable value as it is."""
    moment = parse_time(text)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else text


def beijing(text: str) -> str:
    """``2026-02-27 18:01:02 +08:00``: Beijing time (Asia/Shanghai)."""
    moment = parse_time(text)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +08:00") if moment else text


def both_times(text: str) -> str:
    """Beijing time first (what a Chinese court reads), UTC beside it."""
    if parse_time(text) is None:
        return text or BLANK
    return f"{beijing(text)}（北京时间 / Beijing）\n{utc(text)}"


def one_line_times(text: str) -> str:
    if parse_time(text) is None:
        return text or BLANK
    return f"{beijing(text)} 北京时间 / Beijing; {utc(text)}"


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut value says where the whole of it is."""
    if len(text) <= limit:
        return text
    return (
        text[:limit] + f"…（共 {len(text)} 字符，全文见所附 report.json / "
        f"{len(text)} characters, the whole text is in the attached report.json）"
    )
