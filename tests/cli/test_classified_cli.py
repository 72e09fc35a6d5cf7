"""The classified flow end to end through the real CLI and a live server: a 秘密 case is
classified by its leader, borrowed with a leader's approval, copied under a number, listed
in the register, and destroyed under a named witness."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from api.settings import Settings
from custody.ledger import utc_now
from tests.cli.served import Served
from tests.conftest import add_account, make_settings

RETENTION_SECONDS = 1.5


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, retention_days=RETENTION_SECONDS / 86400)


def _json(result: object) -> dict[str, object]:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    value: dict[str, object] = json.loads(result.stdout)  # type: ignore[attr-defined]
    return value


def test_borrowing_copying_and_supervised_destruction_through_the_cli(
    served: Served, tmp_path: Path
) -> None:
    ctx = served.ctx
    leader = add_account(ctx, "wang.fang", role="leader", department="forensics")
    witness = add_account(ctx, "zhao.min", role="technician", department="forensics")
    prosecutor = add_account(ctx, "chen.jie", role="prosecutor", department="prosecution")
    p_leader = add_account(ctx, "sun.li", role="leader", department="prosecution")

    case = _json(
        served.cli(
            "case",
            "create",
            "CL-1",
            "--title",
            "涉黑",
            "--classification",
            "秘密",
            "--secrecy-period",
            "5",
            "--secrecy-basis",
            "规定第三条",
            "--json",
        )
    )
    assert case["secrecy"]["mark"] == "秘密★5年"  # type: ignore[index]
    r = served.cli("classification", "approve", "CL-1", "initial", "--reason", "同意", "--json")
    assert r.exit_code != 0  # the proposer is not a leader
    approved = served.cli(
        "classification", "approve", "CL-1", "initial", "--reason", "同意", "--json", actor=leader
    )
    assert _json(approved)["status"] == "approved"

    content = tmp_path / "chat.db"
    content.write_bytes(b"evidence " * 1000)
    item = _json(served.cli("intake", str(content), "--case", "CL-1", "--json"))["id"]

    until = (utc_now() + timedelta(days=3)).isoformat()
    b = _json(
        served.cli(
            "borrow",
            "request",
            "CL-1",
            "--permission",
            "download",
            "--purpose",
            "起诉审查",
            "--until",
            until,
            "--json",
            actor=prosecutor,
        )
    )
    out = tmp_path / "copy.bin"
    refused = served.cli(
        "evidence", "download", str(item), "--out", str(out), "--purpose", "p", actor=prosecutor
    )
    assert refused.exit_code != 0 and not out.exists()  # no leader has approved yet
    ok = served.cli("borrow", "approve", "CL-1", str(b["id"]), "--reason", "同意", actor=p_leader)
    assert ok.exit_code == 0 and "active" in ok.output, ok.output
    got = served.cli(
        "evidence", "download", str(item), "--out", str(out), "--purpose", "庭审", actor=prosecutor
    )
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == content.read_bytes()

    register = tmp_path / "register.csv"
    r = served.cli("register", "CL-1", "--format", "csv", "-o", str(register), actor=leader)
    assert r.exit_code == 0, r.output
    text = register.read_text(encoding="utf-8-sig")
    assert text.startswith("秘密★5年") and "第 1 份" in text and p_leader.name in text

    dl = _json(
        served.cli(
            "destroy",
            "propose",
            "CL-1",
            "--item",
            str(item),
            "--place",
            "销毁室",
            "--witness",
            witness.name,
            "--reason",
            "结案",
            "--json",
        )
    )
    time.sleep(RETENTION_SECONDS + 0.2)
    r = served.cli(
        "destroy", "approve", "CL-1", str(dl["id"]), "--reason", "同意", actor=served.admin
    )
    assert r.exit_code != 0  # an administrator cannot approve a destruction
    r = served.cli("destroy", "approve", "CL-1", str(dl["id"]), "--reason", "同意", actor=leader)
    assert r.exit_code == 0, r.output
    done = served.cli(
        "destroy",
        "witness",
        "CL-1",
        str(dl["id"]),
        "--place",
        "销毁室",
        "--statement",
        "粉碎",
        "--json",
        actor=witness,
    )
    assert _json(done)["status"] == "witnessed"
    shown = _json(served.cli("evidence", "show", str(item), "--json"))
    assert shown["state"]["status"] == "disposed"  # type: ignore[index]
