"""The official `anthropic` SDK talks to the mock as to the real Messages API: the
`messages.stream` helper, `messages.create` streamed and not, each test body run with the sync
and the async client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2
import pytest
from anthropic.types import Message, TextBlock, ToolUseBlock

from ghoststream.harness.servers import RunningProcess, serve_in_process

if TYPE_CHECKING:
    from tests.conftest import MockServer

TIMEOUT_S = 5.0
KEY = "sk-ant-mock-right-key"
TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
MESSAGE = "The server had an error while processing your request."


class Messages:
    """The sync or the async client behind one awaitable face, so one test body tests both."""

    def __init__(self, kind: str, base_url: str, api_key: str = "sk-ant-anything") -> None:
        options: dict[str, Any] = {
            "base_url": base_url,
            "api_key": api_key,
            "max_retries": 0,
            "timeout": TIMEOUT_S,
        }
        self.sync = anthropic.Anthropic(**options) if kind == "sync" else None
        self.async_ = anthropic.AsyncAnthropic(**options) if kind == "async" else None

    async def create(self, prompt: str | list[Any], **params: Any) -> Message:
        args = _args(prompt, params)
        message: Message
        if self.sync is not None:
            message = self.sync.messages.create(**args)
        else:
            assert self.async_ is not None
            message = await self.async_.messages.create(**args)
        return message

    async def raw(self, prompt: str, **params: Any) -> list[Any]:
        """Every event of `messages.create(stream=True)`."""
        args = _args(prompt, {"stream": True, **params})
        if self.sync is not None:
            return list(self.sync.messages.create(**args))
        assert self.async_ is not None
        async with asyncio.timeout(TIMEOUT_S * 2):
            return [event async for event in await self.async_.messages.create(**args)]

    async def stream(
        self, prompt: str, into: list[Any] | None = None, **params: Any
    ) -> tuple[list[Any], Message]:
        """The `messages.stream` helper's events and final message; with `into`, events land
        there as they arrive, so a test still sees them when the iteration raises."""
        events = [] if into is None else into
        args = _args(prompt, params)
        if self.sync is not None:
            with self.sync.messages.stream(**args) as stream:
                events.extend(stream)
                return events, stream.get_final_message()
        assert self.async_ is not None
        async with asyncio.timeout(TIMEOUT_S * 2):
            async with self.async_.messages.stream(**args) as astream:
                async for event in astream:
                    events.append(event)
                return events, await astream.get_final_message()

    async def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.async_ is not None:
            await self.async_.close()


def _args(prompt: str | list[Any], params: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "claude-mock-1",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": prompt}],
        **params,
    }


def _text(message: Message) -> str:
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


def _deltas(events: list[Any]) -> list[str]:
    return [e.text for e in events if e.type == "text"]


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, mock: MockServer) -> AsyncIterator[Messages]:
    client = Messages(request.param, mock.url)
    yield client
    await client.close()


async def test_the_stream_helper_reads_the_live_apis_events(sdk: Messages) -> None:
    events, final = await sdk.stream("hi")
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta", "text"] * 20,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ], "the session mock's --tokens is 20; the SDK drops `ping` itself"
    assert final.stop_reason == "end_turn" and final.role == "assistant"
    assert final.id.startswith("msg_01") and final.model == "claude-mock-1"
    assert _text(final) == "".join(_deltas(events)) and len(_deltas(events)) == 20
    assert final.usage.output_tokens == 20 and final.usage.input_tokens > 0


async def test_raw_events_are_the_sdks_own_types(sdk: Messages) -> None:
    events = await sdk.raw("hi", max_tokens=3)
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[-2].delta.stop_reason == "max_tokens" and events[-2].usage.output_tokens == 3


async def test_streamed_text_equals_the_non_streamed_text(sdk: Messages) -> None:
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=60] the same question"
    _, streamed = await sdk.stream(prompt)
    whole = await sdk.create(prompt)
    assert _text(whole) == _text(streamed) and whole.stop_reason == "end_turn"
    assert whole.usage.output_tokens == streamed.usage.output_tokens == 60
    assert whole.usage.input_tokens == streamed.usage.input_tokens


async def test_max_tokens_stops_with_stop_reason_max_tokens(sdk: Messages) -> None:
    events, streamed = await sdk.stream("hi", max_tokens=5)
    whole = await sdk.create("hi", max_tokens=5)
    assert streamed.stop_reason == whole.stop_reason == "max_tokens"
    assert len(_deltas(events)) == 5 and whole.usage.output_tokens == 5
    assert _text(whole) == _text(streamed)


async def test_system_and_content_blocks_are_read(sdk: Messages) -> None:
    content = [{"type": "text", "text": "[mock: mode=echo] echo "}, {"type": "text", "text": "me"}]
    whole = await sdk.create(content, system=[{"type": "text", "text": "Be brief."}])
    assert _text(whole) == "echo me"


async def test_a_tool_call_streams_as_a_tool_use_block(sdk: Messages) -> None:
    prompt = "[mock: tool_call=get_weather] weather in Paris?"
    choice = {"type": "tool", "name": "get_weather"}
    events, final = await sdk.stream(prompt, tools=[TOOL], tool_choice=choice)
    assert any(e.type == "input_json" for e in events)
    block = final.content[0]
    assert isinstance(block, ToolUseBlock) and block.name == "get_weather"
    assert block.id.startswith("toolu_01") and isinstance(block.input["city"], str)
    assert final.stop_reason == "tool_use"
    whole = await sdk.create(prompt, tools=[TOOL], tool_choice=choice)
    assert isinstance(whole.content[0], ToolUseBlock) and whole.content[0].input == block.input


@pytest.mark.parametrize(
    ("fault", "error", "type"),
    [
        ("http_429", anthropic.RateLimitError, "rate_limit_error"),
        ("http_500", anthropic.InternalServerError, "api_error"),
        ("http_503", anthropic.ServiceUnavailableError, "api_error"),
        ("http_529", anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_an_http_fault_raises_the_sdks_own_error(
    sdk: Messages, fault: str, error: type[anthropic.APIStatusError], type: str
) -> None:
    with pytest.raises(error) as caught:
        await sdk.stream(f"[mock: fault={fault}] hi")
    assert caught.value.status_code == int(fault[-3:]) and caught.value.type == type


async def test_a_429_says_when_to_retry(sdk: Messages) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        await sdk.create("[mock: fault=http_429 retry_after_ms=2500] hi")
    assert caught.value.response.headers["retry-after"] == "3"


async def test_error_midstream_raises_the_error_event_after_the_text_before_it(
    sdk: Messages,
) -> None:
    """The SDK raises an in-stream `error` event as a status error on the 200 response."""
    events: list[Any] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        await sdk.stream("[mock: fault=error_midstream fault_after=3] hi", into=events)
    assert caught.value.status_code == 200 and caught.value.type == "api_error"
    assert caught.value.api_message == MESSAGE
    assert len(_deltas(events)) == 3


async def test_drop_midstream_raises_the_transport_error_not_a_hang(sdk: Messages) -> None:
    """The anthropic SDK lets the transport's own error through mid-stream (it wraps it in
    APIConnectionError only before the response starts)."""
    events: list[Any] = []
    started = time.perf_counter()
    with pytest.raises(httpx2.RemoteProtocolError):
        await sdk.stream("[mock: fault=drop_midstream fault_after=3] hi", into=events)
    assert time.perf_counter() - started < TIMEOUT_S / 2, "it waited for a timeout"
    assert len(_deltas(events)) == 3


async def test_malformed_midstream_raises_a_json_error(sdk: Messages) -> None:
    events: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        await sdk.stream("[mock: fault=malformed_midstream fault_after=3] hi", into=events)
    assert len(_deltas(events)) == 3


async def test_a_bad_request_raises_bad_request_error(sdk: Messages) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await sdk.create("hi", max_tokens=0)
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == "max_tokens: Input should be greater than or equal to 1"


# -- a mock that wants an API key ----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_process() -> Iterator[RunningProcess]:
    args = ["--log-level", "warning", "--api-key", KEY, "--ttft-ms", "0", "--itl-ms", "0"]
    with serve_in_process("mock_llm", args) as server:
        yield server


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_key_is_checked_in_x_api_key(keyed_process: RunningProcess, kind: str) -> None:
    wrong = Messages(kind, keyed_process.url, api_key="sk-ant-wrong")
    right = Messages(kind, keyed_process.url, api_key=KEY)
    try:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await wrong.stream("hi")
        assert caught.value.type == "authentication_error"
        assert _text(await right.create("hi"))
    finally:
        await wrong.close()
        await right.close()
