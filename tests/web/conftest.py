"""Fixtures of the web tests: a live server on loopback and a real chromium."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.context import AppContext, build_context
from tests.cli.served import serve
from tests.conftest import Actor, add_account, make_settings
from tests.web.browser import FLAGS, chromium_or_skip, screenshot_dir


@dataclass
class Live:
    url: str
    ctx: AppContext
    technician: Actor
    judge: Actor
    shots: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real app under uvicorn on 127.0.0.1, with a technician and a judge account."""
    tmp = tmp_path_factory.mktemp("web")
    ctx = build_context(make_settings(tmp, extra_digests=""))
    technician = add_account(ctx, "li.wei", role="technician", department="forensics")
    judge = add_account(ctx, "court.haidian", role="judge", department="court", clearance="secret")
    try:
        with serve(create_app(context=ctx)) as url:
            yield Live(
                url=url,
                ctx=ctx,
                technician=technician,
                judge=judge,
                shots=screenshot_dir(tmp / "screenshots"),
            )
    finally:
        ctx.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="custody-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            args=FLAGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab with no cookies; console CSP violations and dialogs are collected."""
    browser.clear_cookies()
    tab = browser.new_page()
    tab.set_default_timeout(30_000)
    tab.problems = []  # type: ignore[attr-defined]
    tab.on(
        "console",
        lambda m: (
            tab.problems.append(m.text)  # type: ignore[attr-defined]
            if m.type == "error"
            else None
        ),
    )
    tab.on("dialog", lambda d: (tab.problems.append(f"dialog: {d.message}"), d.dismiss()))  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        tab.close()
