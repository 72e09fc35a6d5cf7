"""The borrowing register (借阅登记簿) of a case: every request, its approvals, what was
accessed under it, when access ended; and every numbered copy with its holder.

One value, from the ledger fold, rendered as JSON, CSV (UTF-8 BOM, for Excel) and PDF (the
mark 「密级★期限」 at the top left of its first page). The PDF's footer carries the SHA-256 of
the register's canonical JSON, so a printed register can be matched with its data.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from typing import Any

from api.reports.document import Document, Section, Table, Text
from api.reports.pdf import render_document_pdf
from custody.bundle.data_list import BOM, safe_cell
from custody.canonical import canonical_json
from custody.ledger import rfc3339
from custody.secrecy import CaseSecrecy

BORROWING_HEADER = (
    "借阅编号/Borrowing",
    "借阅人/Borrower",
    "部门/Department",
    "范围/Items",
    "权限/Permissions",
    "事由/Purpose",
    "申请时间/Requested",
    "起止/Period",
    "本部门负责人批准/Approved (own leader)",
    "主管部门负责人批准/Approved (owning leader)",
    "驳回/Rejected",
    "状态/Status",
    "访问/Accessed",
    "结束时间/Access ended",
)
COPY_HEADER = (
    "份号/Copy No.",
    "类型/Kind",
    "持有人/Holder",
    "部门/Department",
    "证据/Item",
    "事由/Purpose",
    "制作时间/Made",
    "销毁/Destroyed",
)


def _step(step: Any) -> str:
    if step is None:
        return ""
    note = f" — {step.note}" if step.note else ""
    return f"{step.actor} {rfc3339(step.time)} (#{step.seq}){note}"


def register_value(state: CaseSecrecy, title: str, now: datetime, by: str) -> dict[str, Any]:
    c = state.classification
    borrowings = []
    for b in state.borrowings.values():
        accessed = state.accessed_under(b, now)
        ended = b.ended_at(now)
        borrowings.append(
            {
                "id": b.id,
                "account": b.account,
                "department": b.department,
                "items": list(b.items) if b.items is not None else "all",
                "permissions": list(b.permissions),
                "purpose": b.purpose,
                "requested": _step(b.requested),
                "period": f"{rfc3339(b.starts_at)} – {rfc3339(b.ends_at)}",
                "approved_by_requester_leader": _step(b.by_requester_leader),
                "approved_by_owner_leader": _step(b.by_owner_leader),
                "rejected": _step(b.rejected),
                "status": b.status(now),
                "accessed": [
                    f"{a.action} {a.evidence or ''} {rfc3339(a.time)} (#{a.seq})".replace("  ", " ")
                    + (f" 第{a.copy_no}份" if a.copy_no else "")
                    for a in accessed
                ],
                "access_ended": rfc3339(ended) if ended else "",
            }
        )
    copies = [
        {
            "number": n.number,
            "kind": n.kind,
            "holder": n.holder,
            "department": n.holder_department,
            "evidence": n.evidence or "all",
            "purpose": n.purpose,
            "made": _step(n.made),
            "destroyed": _step(n.destroyed),
        }
        for n in sorted(state.copies.values(), key=lambda c: c.number)
    ]
    return {
        "case": state.number,
        "title": title,
        "department": state.department,
        "level": c.level.value,
        "mark": c.mark,
        "generated_at": rfc3339(now),
        "generated_by": by,
        "borrowings": borrowings,
        "copies": copies,
        "reused_copy_numbers": [{"number": n, "seq": s} for n, s in state.reused_copy_numbers],
    }


def register_csv(value: dict[str, Any]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([value["mark"] or "", f"借阅登记簿 / Borrowing register — {value['case']}"])
    w.writerow(BORROWING_HEADER)
    for b in value["borrowings"]:
        row = [
            b["id"],
            b["account"],
            b["department"],
            ",".join(b["items"]) if isinstance(b["items"], list) else "all",
            ",".join(b["permissions"]),
            b["purpose"],
            b["requested"],
            b["period"],
            b["approved_by_requester_leader"],
            b["approved_by_owner_leader"],
            b["rejected"],
            b["status"],
            "; ".join(b["accessed"]),
            b["access_ended"],
        ]
        w.writerow([safe_cell(str(x or "")) for x in row])
    w.writerow([])
    w.writerow(COPY_HEADER)
    for c in value["copies"]:
        row = [
            f"第 {c['number']} 份",
            c["kind"],
            c["holder"],
            c["department"],
            c["evidence"],
            c["purpose"],
            c["made"],
            c["destroyed"],
        ]
        w.writerow([safe_cell(str(x or "")) for x in row])
    return (BOM + out.getvalue()).encode("utf-8")


def register_pdf(value: dict[str, Any]) -> bytes:
    digest = hashlib.sha256(canonical_json(value)).hexdigest()
    borrowings = Table(
        headers=(
            "借阅人/Borrower",
            "事由/Purpose",
            "批准/Approved by",
            "状态/Status",
            "访问/Accessed",
        ),
        rows=tuple(
            (
                f"{b['account']} ({b['department']})\n{b['id']}\n{b['period']}",
                b["purpose"],
                "\n".join(
                    x
                    for x in (b["approved_by_requester_leader"], b["approved_by_owner_leader"])
                    if x
                )
                or (f"rejected: {b['rejected']}" if b["rejected"] else "—"),
                b["status"] + (f"\nended {b['access_ended']}" if b["access_ended"] else ""),
                "\n".join(b["accessed"]) or "—",
            )
            for b in value["borrowings"]
        ),
        widths=(22, 18, 22, 12, 26),
    )
    copies = Table(
        headers=("份号/Copy", "持有人/Holder", "证据/Item", "制作/Made", "销毁/Destroyed"),
        rows=tuple(
            (
                f"第 {c['number']} 份 ({c['kind']})",
                f"{c['holder']} ({c['department']})",
                c["evidence"],
                c["made"],
                c["destroyed"] or "—",
            )
            for c in value["copies"]
        ),
        widths=(14, 20, 26, 20, 20),
    )
    doc = Document(
        title="借阅登记簿 / Borrowing register",
        subtitle=f"{value['case']} — {value['title']}",
        mark=value["mark"],
        header=f"{value['case']} 借阅登记簿",
        banner=(
            f"{value['department']} · {value['level']} · "
            f"generated {value['generated_at']} by {value['generated_by']}"
        ),
        passed=not value["reused_copy_numbers"],
        sections=(
            Section(
                title="借阅 / Borrowings",
                blocks=(borrowings,) if value["borrowings"] else (Text(text="无 / none"),),
                anchor="borrowings",
            ),
            Section(
                title="复制 / Numbered copies",
                blocks=(copies,) if value["copies"] else (Text(text="无 / none"),),
                anchor="copies",
            ),
        ),
        footer_label="SHA-256 (register JSON)",
        footer_value=digest,
        created=value["generated_at"],
        author=value["generated_by"],
        landscape=True,
    )
    return render_document_pdf(doc)
