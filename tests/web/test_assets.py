"""What ships with the pages: pinned vendored JS with its licence, templates without inline code,
and every word in both languages."""

from __future__ import annotations

import hashlib
import re
import string
import tomllib
from pathlib import Path

from api.web import i18n
from api.web.static import STATIC_DIR
from api.web.templating import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIR / "vendor" / "hash-wasm"


def test_vendored_hash_wasm_matches_its_recorded_digests_and_carries_its_licence() -> None:
    sums = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 4
    for line in sums:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    version = (VENDOR / "VERSION").read_text()
    script = (ROOT / "scripts" / "refresh-web-assets.sh").read_text()
    pinned = re.search(r"^VERSION=(\S+)$", script, re.M)
    assert pinned and f"hash-wasm {pinned.group(1)} " in version


def test_the_package_ships_templates_and_static_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["api.web"]
    base = TEMPLATES.parent
    shipped = {p for g in globs for p in base.glob(g)}
    wanted = {p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    wanted -= set(base.glob("*.py")) | set(base.glob("*/*.py"))
    assert wanted <= shipped, sorted(str(p) for p in wanted - shipped)


def test_templates_have_no_inline_script_style_or_handler_and_nothing_marked_safe() -> None:
    for path in TEMPLATES.glob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path.name
        assert not re.search(r"\son[a-z]+\s*=", html), path.name
        assert " style=" not in html and "<style" not in html, path.name
        assert "|safe" not in html and "Markup" not in html and "autoescape false" not in html
        assert "javascript:" not in html, path.name


def test_every_word_used_is_in_both_languages_with_the_same_placeholders() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_]+)'", path.read_text()))
    assert used, "no t('…') calls found"
    missing = sorted(k for k in used if k not in i18n.M)
    assert missing == []
    for key, (zh, en) in i18n.M.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(zh) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(en) if f}, key
        assert zh.strip() and en.strip(), key
