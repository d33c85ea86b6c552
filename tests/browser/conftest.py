"""Headless Chromium for the page tests: one browser per session, a fresh context per test.

Every fixture here runs on the session's event loop, since Playwright's objects belong to the
loop that made them; test modules opt in with `pytest.mark.asyncio(loop_scope="session")`.
A test fails on any console error or uncaught exception in the page, except the console errors
it declares with `PageUnderTest.allow_console_error` (Chromium logs every 4xx fetch as one).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

if TYPE_CHECKING:
    from tests.conftest import ServiceServer

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
"""Playwright's wait for any single step; a hung page fails in seconds, not at pytest's timeout."""


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium; missing, the suite skips, unless GHOSTSTREAM_REQUIRE_BROWSER=1 (CI)."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}"
        if os.environ.get("GHOSTSTREAM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and GHOSTSTREAM_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class PageUnderTest:
    """The service's page, open in its own browser context, with its problems collected."""

    page: Page
    url: str
    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow_console_error(self, fragment: str) -> None:
        """Tolerate console errors containing `fragment`; the test expects them."""
        self.allowed.append(fragment)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(f in message.text for f in self.allowed):
            self.problems.append(f"console error: {message.text} ({message.location})")

    def on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught page error: {error.name}: {error.message}")


@pytest_asyncio.fixture(loop_scope="session")
async def page_under_test(browser: Browser, service: ServiceServer) -> AsyncIterator[PageUnderTest]:
    """The page, loaded from the service (which relays a freshly reset mock)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        under_test = PageUnderTest(page, service.url)
        page.on("console", under_test.on_console)
        page.on("pageerror", under_test.on_page_error)
        await page.goto(service.url)
        yield under_test
    finally:
        await context.close()
    if under_test.problems:
        pytest.fail("the page reported:\n" + "\n".join(under_test.problems), pytrace=False)
