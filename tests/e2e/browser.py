"""Debian's Chromium driven by Playwright for the console's browser tests: headless, no sandbox
(CI runs as root), none of the background connections this closed network refuses, a 1366×768
window in Chinese, and screenshots kept as test artefacts (``RYB_TEST_ARTEFACTS``, by default
``test-artefacts/`` in the checkout)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(os.environ.get("RYB_TEST_ARTEFACTS") or Path(__file__).resolve().parents[2] / "test-artefacts")


@asynccontextmanager
async def chromium() -> AsyncIterator[object]:
    """A browser, or the test fails (in CI) or skips (elsewhere) saying why there is none."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser, base_url: str):  # type: ignore[no-untyped-def]
    """A page of its own (own cookies: one staff member per context) at the console's size."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                        base_url=base_url)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before publishing
    return page


async def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def no_horizontal_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    """Usable at 1366×768: nothing sticks out sideways."""
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
