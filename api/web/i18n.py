"""Chinese (the default) and English: the pages' words, and the reports' names of codes.

The language is a cookie set by the switch in every page's header. Names of levels,
statuses, actions, roles and lock modes come from :mod:`api.reports.words` (written
"中文 / English"), so a page and a printed report use the same words.
"""

from __future__ import annotations

from starlette.requests import Request

from api.reports import words

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "custody_lang"

CODES: dict[str, dict[str, str]] = {
    "actions": words.ACTIONS,
    "statuses": words.STATUSES,
    "roles": words.ROLES,
    "backends": words.BACKENDS,
    "lock_modes": words.LOCK_MODES,
    "levels": {code: f"{zh} / {en}" for code, (zh, en) in words.LEVELS.items()},
    "results": {"pass": "通过 / passed", "fail": "不通过 / FAILED"},
}

M: dict[str, tuple[str, str]] = {
    "app.name": ("电子证据保管链", "Evidence custody"),
    "app.footer": (
        "每一次查阅、下载、核验和导出都记入只可追加的保管日志。",
        "Every view, download, verification and export is recorded on the append-only "
        "custody ledger.",
    ),
    "nav.skip": ("跳到正文", "Skip to content"),
    "nav.label": ("主导航", "Main"),
    "nav.cases": ("案件", "Cases"),
    "nav.ledger": ("保管日志", "Ledger"),
    "nav.check": ("核验数据包", "Check a bundle"),
    "nav.language": ("语言", "Language"),
    "nav.signout": ("退出", "Sign out"),
    "error.title": ("出错了", "Error"),
    "error.home": ("返回首页", "Back to the start page"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # sign-in
    "signin.title": ("登录", "Sign in"),
    "signin.intro": (
        "用管理员为您签发的 API 令牌登录。令牌只用于换取本次会话，不会保存在浏览器中。",
        "Sign in with the API token an administrator issued to you. It is exchanged for a "
        "session and is not kept in the browser.",
    ),
    "signin.token": ("API 令牌", "API token"),
    "signin.token_help": ("以 cst_ 开头。", "It starts with cst_."),
    "signin.submit": ("登录", "Sign in"),
    "signin.failed": ("登录失败", "Sign-in failed"),
    "signin.first_title": ("还没有令牌？", "No token yet?"),
    "signin.first_help": (
        "服务首次启动时把管理员令牌写入 var/admin.token。管理员用它为取证技术员建立账号，"
        "命令只打印一次新令牌：",
        "On first start the service writes the administrator's token to var/admin.token. "
        "The administrator uses it to create a technician's account; the command prints "
        "the new token once:",
    ),
    "signin.court_help": (
        "辩护人与法院使用 --role defense 或 --role judge 的账号，并由管理员按案件授权。",
        "Defence lawyers and courts get accounts with --role defense or --role judge, and "
        "an administrator grants them each case.",
    ),
    # cases
    "cases.title": ("案件", "Cases"),
    "cases.caption": ("您可查看的案件", "Cases you can see"),
    "cases.none": ("您目前没有可查看的案件。", "There are no cases you can see yet."),
    "cases.new": ("新建案件", "New case"),
    "cases.number_help": (
        "字母、数字、点、下划线或连字符，例如 2026-XS-0117。",
        "Letters, digits, '.', '_' or '-', e.g. 2026-XS-0117.",
    ),
    "cases.create": ("建立案件", "Create case"),
    "case.number": ("案件编号", "Case number"),
    "case.title_field": ("案件名称", "Title"),
    "case.classification": ("密级", "Classification"),
    "case.secrecy_period": ("保密期限", "Secrecy period"),
    "case.secrecy_basis": ("定密依据", "Basis of classification"),
    "cases.secrecy_help": (
        "秘密、机密、绝密案件必填：期限为年数（如 10）或截止日期（如 2030-06-30），"
        "并写明定密依据；定密须经部门负责人批准。",
        "Required for 秘密/机密/绝密: years (e.g. 10) or an end date (2030-06-30), and the "
        "basis; a leader approves the classification.",
    ),
    "case.department": ("承办部门", "Department"),
    "case.items": ("证据数", "Items"),
    "case.created": ("立案", "Created"),
    "case.mark_label": ("密级标志", "Classification mark"),
    "case.intake": ("提取入库", "Take in evidence"),
    "case.items_title": ("证据", "Evidence items"),
    "case.no_items": ("本案尚无证据。", "No evidence has been taken in for this case."),
    "case.export_title": ("导出数据包与案件报告", "Export a bundle and the case report"),
    "case.export_help": (
        "导出会重新核验每一件证据，并把导出（连同目的）记入保管日志。数据包是 BagIt "
        "格式的 zip，可用 custody-verify、sha256sum -c 和 b3sum -c 独立核验。",
        "An export re-verifies every item and records the export, with its purpose, on the "
        "ledger. The bundle is a BagIt zip that custody-verify, sha256sum -c and b3sum -c "
        "check independently.",
    ),
    "case.purpose": ("目的（借阅登记）", "Purpose (borrowing register)"),
    "case.purpose_help": (
        "必填，例如“移送审查起诉”。",
        "Required, e.g. 'for the court hearing of 2026-03-02'.",
    ),
    "case.with_content": (
        "包含证据文件本身（每件记为一次下载）",
        "Include the evidence files (each is recorded as a download)",
    ),
    "case.export_zip": ("导出数据包（zip）", "Export bundle (zip)"),
    "case.case_report": ("案件报告（PDF）", "Case report (PDF)"),
    "case.grants_title": ("授权", "Grants"),
    "case.no_grants": ("本案没有授权记录。", "No grants have been made for this case."),
    "case.borrowings_title": ("借阅登记", "Borrowing register"),
    "case.borrowings_help": (
        "涉密案件的每一次下载和导出，及其登记的目的。",
        "Every download and export of this classified case, with the purpose stated.",
    ),
    "case.no_borrowings": ("尚无借阅记录。", "Nothing has been borrowed yet."),
    "case.timeline_title": ("保管时间线", "Custody timeline"),
    "case.timeline_help": (
        "本案在保管日志中的全部记录，最新的在前；每条记录都链接到本案的上一条记录。",
        "Every ledger entry of this case, newest first; each entry links to the case's "
        "previous one.",
    ),
    "grant.account": ("账号", "Account"),
    "grant.permissions": ("权限", "Permissions"),
    "grant.by": ("授权人", "Granted by"),
    "grant.expires": ("到期", "Expires"),
    "grant.state": ("状态", "State"),
    "grant.live": ("有效", "live"),
    "grant.expired": ("已过期", "expired"),
    "grant.revoked": ("已撤销", "revoked"),
    "entry.time": ("时间", "Time"),
    "entry.actor": ("操作人", "By"),
    "entry.action": ("操作", "Action"),
    "entry.evidence": ("证据", "Evidence"),
    "entry.hash": ("记录哈希", "Entry hash"),
    "entry.seq": ("日志序号", "ledger entry"),
    # the details of a ledger entry, as the timeline shows them
    "detail.filename": ("文件名", "file name"),
    "detail.seal_no": ("封存编号", "seal no."),
    "detail.title": ("案件名称", "title"),
    "detail.classification": ("密级", "classification"),
    "detail.what": ("内容", "what"),
    "detail.purpose": ("目的", "purpose"),
    "detail.result": ("结果", "result"),
    "detail.reason": ("原因", "reason"),
    "detail.attempted": ("尝试的操作", "attempted"),
    "detail.to": ("移交给", "to"),
    "detail.from": ("移交人", "from"),
    "detail.account": ("账号", "account"),
    "detail.permissions": ("权限", "permissions"),
    "detail.count": ("数量", "count"),
    "detail.size": ("大小", "size"),
    # intake
    "intake.title": ("提取入库", "Intake"),
    "intake.intro": (
        "拖入一个或多个文件。浏览器在上传的同时计算 SHA-256 和 BLAKE3，完成后与服务器"
        "计算并记录的值逐一比对。",
        "Drop one or more files. The browser computes SHA-256 and BLAKE3 while uploading, "
        "then compares them with the values the server computed and recorded.",
    ),
    "intake.drop": ("把文件拖到这里，或", "Drop files here, or"),
    "intake.choose": ("选择文件", "Choose files"),
    "intake.noscript": (
        "本页需要 JavaScript 来计算哈希值；也可以使用命令行 custody intake。",
        "This page needs JavaScript to hash files; the CLI's custody intake works too.",
    ),
    "intake.upload_all": ("开始上传", "Upload all"),
    "intake.declared_algorithm": ("取证工具哈希算法", "Imager hash algorithm"),
    "intake.declared": ("取证工具给出的哈希值", "Hash printed by the imager"),
    "intake.declared_help": (
        "可选。若填写，服务器在入库前比对，不一致即拒绝并记录。",
        "Optional. If given, the server compares it before accepting; a mismatch is "
        "refused and recorded.",
    ),
    "intake.upload_progress": ("上传", "Upload"),
    "intake.hash_progress": ("浏览器计算哈希", "Hashing in the browser"),
    "intake.compare": ("哈希值比对", "Digest comparison"),
    "intake.algorithm": ("算法", "Algorithm"),
    "intake.browser": ("浏览器计算", "Computed in the browser"),
    "intake.server": ("服务器记录", "Recorded by the server"),
    "intake.result": ("结果", "Result"),
    "intake.match": ("一致", "match"),
    "intake.mismatch": ("不一致", "MISMATCH"),
    "intake.all_match": ("已入库，哈希值全部一致。", "Taken in; every digest matches."),
    "intake.some_mismatch": (
        "已入库，但浏览器与服务器的哈希值不一致！",
        "Taken in, but the browser's and the server's digests DIFFER!",
    ),
    "intake.refused": ("未入库", "Not taken in"),
    "intake.left": ("剩余", "left"),
    "intake.done": ("完成", "done"),
    "intake.open_item": ("查看证据", "Open the item"),
    "intake.waiting": ("等待上传", "Waiting"),
    "intake.uploading": ("正在上传并计算哈希…", "Uploading and hashing…"),
    "intake.network": ("连接中断", "the connection failed"),
    "intake.finished": ("完成：", "Finished:"),
    # item
    "item.title": ("证据", "Item"),
    "item.file": ("文件", "File"),
    "item.id": ("证据编号", "Evidence id"),
    "item.description": ("描述", "Description"),
    "item.seal": ("封存编号", "Seal number"),
    "item.size": ("大小", "Size"),
    "item.size_bytes": ("大小（字节）", "Size (bytes)"),
    "item.content_type": ("类型", "Type"),
    "item.intake": ("入库", "Intake"),
    "item.status": ("状态", "Status"),
    "item.custodian": ("保管人", "Custodian"),
    "item.digests": ("完整性校验值", "Integrity check values"),
    "item.recorded": ("入库时记录", "Recorded at intake"),
    "item.imager": ("取证工具给出", "Imager's value"),
    "item.no_imager": ("入库时未提供取证工具的哈希值。", "No imager hash was declared at intake."),
    "item.media": ("介质", "Media"),
    "item.findings": (
        "数据库与保管日志不一致（以日志为准）：",
        "The table disagrees with the ledger (the ledger is the record):",
    ),
    "item.lock_title": ("锁定与保存期限", "Lock and retention"),
    "item.storage": ("存储", "Storage"),
    "item.lock_mode": ("锁定方式", "Lock mode"),
    "item.retention": ("保存至", "Retained until"),
    "item.legal_hold": ("法律保全", "Legal hold"),
    "item.object": ("对象", "Object"),
    "item.live_lock": ("存储当前报告的锁定", "Lock as the store reports it now"),
    "item.object_gone": ("存储中已无此对象", "the store no longer holds the object"),
    "item.last_verification": ("最近核验", "Last verification"),
    "item.verify_title": ("完整性核验", "Integrity verification"),
    "item.verify_help": (
        "重新读取存储的内容并重算每个哈希值，检查锁定状态，并用检查点证明每条保管记录；"
        "结果签名并记入日志。",
        "Re-reads the stored content and recomputes every digest, checks the lock, and "
        "proves every custody entry against a checkpoint; the result is signed and recorded.",
    ),
    "item.verify_now": ("立即核验", "Verify now"),
    "item.history": ("保管记录与证明", "Custody history with proofs"),
    "item.history_help": (
        "每条记录都附有相对于检查点（日志大小 {size}，根哈希 {root}）的包含证明，已在此页核对。",
        "Each entry comes with an inclusion proof against the checkpoint (tree size {size}, "
        "root {root}), checked for this page.",
    ),
    "item.proven": ("已证明包含于检查点", "proven in the checkpoint"),
    "item.not_proven": ("证明失败", "proof FAILED"),
    "item.proof": ("包含证明", "Inclusion proof"),
    "item.proof_path": (
        "叶子 {index}，日志大小 {size}，路径哈希：",
        "Leaf {index} of a tree of size {size}; path:",
    ),
    "item.checkpoint": ("签名检查点", "Signed checkpoint"),
    # report
    "report.title": ("核验报告", "Verification report"),
    "report.passed": (
        "核验通过：内容、锁定与保管记录均完好。",
        "PASSED: content, lock and custody record are intact.",
    ),
    "report.failed": ("核验不通过！", "Verification FAILED!"),
    "report.generated": ("核验时间与人员", "Verified at, by"),
    "report.size": (
        "记录 {recorded}，重算 {recomputed}",
        "recorded {recorded}, recomputed {recomputed}",
    ),
    "report.lock": ("存储锁定", "Storage lock"),
    "report.ledger": ("保管日志", "Ledger"),
    "report.ledger_value": (
        "{n} 条记录已用日志大小 {size} 的检查点证明",
        "{n} entries proven against the checkpoint of size {size}",
    ),
    "report.digests": ("哈希值", "Digests"),
    "report.recomputed": ("重新计算", "Recomputed"),
    "report.findings": ("发现的问题", "Findings"),
    "report.signature": ("签名", "Signature"),
    "report.hash": ("报告哈希（SHA-256）", "Report hash (SHA-256)"),
    "report.how": (
        "报告由日志密钥签名；PDF 内嵌签名的 JSON，可用 custody-verify report 独立核对。",
        "The report is signed by the ledger key; the PDF embeds the signed JSON, which "
        "custody-verify report checks independently.",
    ),
    "report.pdf": ("下载 PDF 报告", "Download the PDF report"),
    # ledger
    "ledger.title": ("保管日志", "Custody ledger"),
    "ledger.intro": (
        "日志只可追加：每条记录都以哈希链接上一条，并由 Merkle 树和签名检查点保护。",
        "The ledger is append-only: each entry is hash-chained to the one before it and "
        "backed by a Merkle tree and signed checkpoints.",
    ),
    "ledger.origin": ("日志名称（origin）", "Origin"),
    "ledger.size": ("日志大小", "Tree size"),
    "ledger.root": ("根哈希", "Root hash"),
    "ledger.key": ("验证公钥", "Verifier key"),
    "ledger.key_id": ("密钥编号", "Key id"),
    "ledger.report_cert": ("PDF 报告签名证书 SHA-256", "PDF report certificate SHA-256"),
    "ledger.checkpoint": ("最新检查点（C2SP 签名注记）", "Latest checkpoint (C2SP signed note)"),
    "ledger.signatures": ("签名", "Signatures"),
    "ledger.signer": ("签名者", "Signer"),
    "ledger.kind": ("类型", "Kind"),
    "ledger.operator": ("本服务的日志密钥", "this service's ledger key"),
    "ledger.cosignature": ("见证人联署", "witness cosignature"),
    "ledger.no_witness": (
        "尚未配置见证人联署：目前只有本服务的密钥签署检查点。",
        "No witness cosignatures are configured: only this service's key signs checkpoints.",
    ),
    "ledger.how_title": ("如何独立核验", "How to check this independently"),
    "ledger.how_key": (
        "从本单位公布的渠道（而不是从本页或数据包）取得验证公钥，并与上面的公钥逐字比对。",
        "Obtain the verifier key through the lab's published channel (not from this page "
        "or a bundle) and compare it, character by character, with the key above.",
    ),
    "ledger.how_install": (
        "安装独立核验工具（只需 Python）：",
        "Install the standalone verifier (Python only):",
    ),
    "ledger.how_save": (
        "保存检查点；以后再取一次：",
        "Save the checkpoint, and later another one:",
    ),
    "ledger.how_consistency": (
        "证明日志在两次之间只追加未改写：",
        "Prove the ledger was only appended to in between:",
    ),
    "ledger.how_bundle": ("核验数据包（可离线）：", "Check a bundle (offline):"),
    # check a bundle
    "check.title": ("核验数据包", "Check a bundle"),
    "check.intro": (
        "上传导出的数据包（zip），并粘贴您信任的验证公钥。本页运行与 custody-verify "
        "相同的纯核验程序，逐项列出 OK/FAIL 及原因。",
        "Upload an exported bundle (zip) and paste the verifier key you trust. This page "
        "runs the same pure verifier as custody-verify and lists every check, OK or FAIL, "
        "with its reason.",
    ),
    "check.independent": (
        "独立核验的途径是单独安装的核验工具，它不依赖本服务器：",
        "The independent path is the standalone verifier, which does not depend on this server:",
    ),
    "check.zip": ("数据包 zip 文件", "Bundle zip file"),
    "check.zip_help": ("最大 {limit}。", "At most {limit}."),
    "check.key": ("信任的验证公钥", "Trusted verifier key"),
    "check.key_help": (
        "name+keyid+base64 形式；请从公布渠道取得，绝不使用数据包自带的公钥。",
        "In the form name+keyid+base64; obtain it from the published channel, never from "
        "the bundle itself.",
    ),
    "check.submit": ("核验", "Check"),
    "check.result": ("核验结果", "Result"),
    "check.ok": ("数据包核验通过", "the bundle verifies"),
    "check.fail": ("数据包核验不通过", "the bundle does NOT verify"),
    "check.counts": (
        "共 {total} 项检查（信任公钥 {trusted}）：{failed} 项失败，{skipped} 项跳过。",
        "{total} checks against the trusted key {trusted}: {failed} failed, {skipped} skipped.",
    ),
    "check.status": ("结果", "Status"),
    "check.as_cli": (
        "custody-verify 输出的同样结果",
        "The same result as custody-verify prints it",
    ),
    "check.item": ("检查项", "Item"),
    "check.reason": ("说明", "Reason"),
}


def language_of(request: Request) -> str:
    value = request.cookies.get(COOKIE, DEFAULT)
    return value if value in LANGUAGES else DEFAULT


def here(request: Request) -> str:
    """This page's path and query: where the language switch comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "") if request.method == "GET" else "/"


def pick(bilingual: str, lang: str) -> str:
    """One half of a report word written "中文 / English" (the whole if it has no halves)."""
    zh, sep, en = bilingual.partition(" / ")
    if not sep:
        return bilingual
    return zh if lang == "zh" else en


class Translator:
    """``t('key', **values)`` in templates; ``t.code('actions', code)`` for codes."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT

    def __call__(self, key: str, **values: object) -> str:
        pair = M.get(key)
        if pair is None:
            return key
        text = pair[0] if self.lang == "zh" else pair[1]
        return text.format(**values) if values else text

    def code(self, table: str, code: str) -> str:
        if not code:
            return words.BLANK
        return pick(CODES[table].get(code, code), self.lang)

    def size(self, value: int) -> str:
        """Bytes, exact, with a binary unit beside large values."""
        unit = f"（{words.size(value).rpartition('(')[2].rstrip(')')}）" if value >= 1024 else ""
        if self.lang == "zh":
            return f"{value} 字节{unit}"
        return f"{value} bytes{unit.replace('（', ' (').replace('）', ')')}"

    def algorithm(self, code: str) -> str:
        return words.algorithm(code)
