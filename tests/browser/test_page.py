"""The page in headless Chromium, against the real service relaying the real mock.

What a person sees: text that grows while the stream is open, Stop that really stops the model,
model output shown as text (never markup, newlines kept), readable errors, personas from the
service, Ctrl+Enter, and a layout that fits a phone. Waits are on DOM conditions, never sleeps.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.async_api import Page, expect

from ghoststream.harness.client import chat_body, timed_stream

if TYPE_CHECKING:
    from tests.browser.conftest import PageUnderTest
    from tests.conftest import MockServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="session"),
    # The page is the same whichever API the service relays; Responses is the newest.
    pytest.mark.parametrize("upstream_api", ["chat", "responses"], indirect=True, scope="session"),
]

# Resolves once the answer has grown past `min` characters, or the stream has ended: the caller
# asserts which, so a stream that ends too soon fails at once instead of at a timeout.
GROWN_OR_ENDED = """
(min) => {
  const length = document.getElementById('output').textContent.length;
  const state = document.body.dataset.state;
  return (length > min || state !== 'streaming') && { length, state };
}
"""


async def generate(page: Page, prompt: str) -> None:
    await page.locator("#prompt").fill(prompt)
    await page.locator("#generate").click()


async def output_text(page: Page) -> str:
    return await page.locator("#output").text_content() or ""


async def grown_while_streaming(page: Page, beyond: int) -> int:
    """Wait until the answer is longer than `beyond` characters, and still streaming."""
    handle = await page.wait_for_function(GROWN_OR_ENDED, arg=beyond, timeout=5_000)
    seen: dict[str, Any] = await handle.json_value()
    assert seen["state"] == "streaming", f"the stream ended at {seen} before passing {beyond}"
    return int(seen["length"])


async def expect_idle_controls(page: Page) -> None:
    """After any end of a run: Generate usable again, Stop not."""
    await expect(page.locator("#generate")).to_be_enabled()
    await expect(page.locator("#stop")).to_be_disabled()


async def test_text_grows_while_the_stream_is_open(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    prompt = "[mock: ttft_ms=100 itl_ms=60 tokens=40] Tell me about streams."
    persona = await page.locator("#persona").input_value()
    # The same prompt through the service, at the same time: the text the page must end with.
    reference = asyncio.create_task(
        timed_stream(f"{page_under_test.url}/api/chat", chat_body(prompt, persona), timeout=15)
    )

    await generate(page, prompt)
    first = await grown_while_streaming(page, 0)
    second = await grown_while_streaming(page, first + 30)
    await grown_while_streaming(page, second + 30)

    await expect(page.locator("body")).to_have_attribute("data-state", "done")
    await expect(page.locator("#status")).to_have_text("Done")
    await expect_idle_controls(page)
    ttft = float(await page.locator("#ttft").text_content() or "nan")
    assert 80 <= ttft <= 600, ttft
    tps = float(await page.locator("#tps").text_content() or "nan")
    assert tps > 0, tps

    record = await reference
    assert record.ok and record.tokens == 40, record
    assert await output_text(page) == record.text
    streams = await mock.evidence.requests(wait_until_closed=5)
    assert [(s["outcome"], s["tokens_sent"]) for s in streams] == [("completed", 40)] * 2


async def test_stop_keeps_the_partial_answer_and_cancels_the_model(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    await generate(page, "[mock: ttft_ms=50 itl_ms=100 tokens=200] A long answer, please.")
    await grown_while_streaming(page, 20)

    await page.locator("#stop").click()
    await expect(page.locator("body")).to_have_attribute("data-state", "stopped")
    await expect(page.locator("#status")).to_have_text("Stopped")
    await expect_idle_controls(page)
    partial = await output_text(page)
    assert len(partial) > 20

    stream = await mock.evidence.only_request(wait_until_closed=5)
    assert stream["outcome"] == "cancelled", stream
    assert 0 < stream["tokens_sent"] < 200, stream
    # The model has stopped; nothing that was still in flight may have reached the page.
    assert await output_text(page) == partial
    await expect(page.locator("#error")).to_be_hidden()


async def test_model_output_is_shown_as_text_never_as_html(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    markup = '<img src=x onerror="window.__pwned=1"> <b>bold</b>'
    await generate(page, f"[mock: mode=echo itl_ms=5] {markup}")

    await expect(page.locator("body")).to_have_attribute("data-state", "done")
    output = page.locator("#output")
    await expect(output).to_have_text(markup)
    assert await output.evaluate("el => el.children.length") == 0
    assert await page.evaluate("() => window.__pwned") is None


async def test_newlines_in_the_answer_are_line_breaks(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    await generate(page, "[mock: mode=echo itl_ms=5] line one\n\nline three")

    await expect(page.locator("body")).to_have_attribute("data-state", "done")
    output = page.locator("#output")
    assert await output.text_content() == "line one\n\nline three"
    assert "line one\n\nline three" in await output.inner_text()
    lines = await output.evaluate(
        """el => {
          const range = document.createRange();
          range.selectNodeContents(el);
          return range.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight);
        }"""
    )
    assert lines >= 2.5, f"three lines rendered {lines:.2f} line-heights tall"


async def test_an_error_mid_answer_is_shown_and_the_partial_text_kept(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    await generate(page, "[mock: fault=error_midstream fault_after=3] Go on.")

    await expect(page.locator("body")).to_have_attribute("data-state", "error")
    await expect(page.locator("#status")).to_have_text("Error")
    error = page.locator("#error")
    await expect(error).to_be_visible()
    await expect(error).to_have_text("The model reported an error mid-answer. (you can retry)")
    assert await output_text(page) != ""
    await expect_idle_controls(page)
    stream = await mock.evidence.only_request(wait_until_closed=5)
    assert (stream["outcome"], stream["tokens_sent"]) == ("fault", 3), stream


async def test_an_empty_prompt_is_refused_with_the_services_message(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    page_under_test.allow_console_error("status of 400")
    await generate(page, "  \n ")

    await expect(page.locator("body")).to_have_attribute("data-state", "error")
    await expect(page.locator("#error")).to_have_text("The prompt is empty.")
    await expect_idle_controls(page)
    assert await output_text(page) == ""
    assert await mock.evidence.requests(wait_until_closed=0) == []


async def test_personas_come_from_the_service(page_under_test: PageUnderTest) -> None:
    page = page_under_test.page
    async with httpx.AsyncClient(base_url=page_under_test.url) as client:
        served = (await client.get("/api/personas")).json()
    options = page.locator("#persona option")
    await expect(options).to_have_count(len(served["personas"]))

    shown = await options.evaluate_all("els => els.map((o) => [o.value, o.textContent])")
    assert shown == [[p["name"], p["label"]] for p in served["personas"]]
    assert {"assistant", "pirate"} <= {name for name, _ in shown}
    assert all(label and label != name for name, label in shown), shown
    assert await page.locator("#persona").input_value() == served["default"]


async def test_ctrl_enter_in_the_prompt_generates(
    page_under_test: PageUnderTest, mock: MockServer
) -> None:
    page = page_under_test.page
    prompt = page.locator("#prompt")
    await prompt.fill("[mock: mode=echo itl_ms=5] From the keyboard.")
    await prompt.press("Control+Enter")

    await expect(page.locator("body")).to_have_attribute("data-state", "done")
    await expect(page.locator("#output")).to_have_text("From the keyboard.")
    await expect(prompt).to_have_value("[mock: mode=echo itl_ms=5] From the keyboard.")
    stream = await mock.evidence.only_request(wait_until_closed=5)
    assert stream["outcome"] == "completed", stream


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
async def test_a_finished_answer_fits_the_viewport(
    page_under_test: PageUnderTest, mock: MockServer, tmp_path: Path, width: int, height: int
) -> None:
    page = page_under_test.page
    await page.set_viewport_size({"width": width, "height": height})
    unbroken = "0123456789abcdef" * 16  # a digest-like word with no break opportunity in it
    await generate(page, f"[mock: mode=echo itl_ms=1] Checksum {unbroken} then {'more ' * 60}")

    await expect(page.locator("body")).to_have_attribute("data-state", "done")
    screenshot = tmp_path / f"page-{width}x{height}.png"
    await page.screenshot(path=screenshot, full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    widths = await page.evaluate(
        """() => {
          const output = document.getElementById('output');
          return {
            page: document.documentElement.scrollWidth,
            viewport: window.innerWidth,
            output: output.scrollWidth,
            outputBox: output.clientWidth,
          };
        }"""
    )
    assert widths["page"] <= widths["viewport"], f"the page scrolls sideways: {widths}"
    assert widths["output"] <= widths["outputBox"], f"the answer overflows its box: {widths}"
