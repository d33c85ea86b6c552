"""The official `openai` SDK's Responses client talks to the mock as to the real API:
`responses.create` (streamed and not) and the `responses.stream` helper, whose lifecycle checks
are strict, each test body run with the sync and the async client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import openai
import pytest
from openai.types.responses import ParsedResponse, Response, ResponseStreamEvent

from tests.mock_llm.openai_clients import TIMEOUT_S, OpenAIClients

if TYPE_CHECKING:
    from tests.conftest import MockServer

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOL: dict[str, Any] = {"type": "function", "name": "get_weather", "parameters": SCHEMA}
MESSAGE = "The server had an error while processing your request."


class Responses(OpenAIClients):
    """The Responses API through the sync or the async client."""

    async def create(self, prompt: str | list[Any], **params: Any) -> Response:
        args = {"model": "gpt-4o-mini", "input": prompt, **params}
        response: Response
        if self.sync is not None:
            response = self.sync.responses.create(**args)
        else:
            assert self.async_ is not None
            response = await self.async_.responses.create(**args)
        return response

    async def events(
        self, prompt: str, into: list[Any] | None = None, **params: Any
    ) -> list[ResponseStreamEvent]:
        """Every event of `responses.create(stream=True)`; with `into`, events land there as
        they arrive, so a test still sees them when the iteration raises."""
        events = [] if into is None else into
        args = {"model": "gpt-4o-mini", "input": prompt, "stream": True, **params}
        if self.sync is not None:
            events.extend(self.sync.responses.create(**args))
            return events
        assert self.async_ is not None
        async with asyncio.timeout(TIMEOUT_S * 2):
            async for event in await self.async_.responses.create(**args):
                events.append(event)
        return events

    async def helper(self, prompt: str, **params: Any) -> tuple[list[Any], ParsedResponse[Any]]:
        """The events of the `responses.stream` helper and its `get_final_response()`."""
        args = {"model": "gpt-4o-mini", "input": prompt, **params}
        if self.sync is not None:
            with self.sync.responses.stream(**args) as stream:
                return list(stream), stream.get_final_response()
        assert self.async_ is not None
        async with self.async_.responses.stream(**args) as astream:
            return [event async for event in astream], await astream.get_final_response()


def _deltas(events: list[Any]) -> list[str]:
    return [e.delta for e in events if e.type == "response.output_text.delta"]


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, mock: MockServer) -> AsyncIterator[Responses]:
    client = Responses(request.param, mock.v1)
    yield client
    await client.close()


async def test_events_come_in_the_live_apis_order_and_numbering(sdk: Responses) -> None:
    events = await sdk.events("hi")
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 20,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ], "the session mock's --tokens is 20"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created, completed = events[0], events[-1]
    assert created.type == "response.created" and completed.type == "response.completed"
    assert created.response.id == completed.response.id and created.response.id.startswith("resp_")
    assert created.response.status == "in_progress" and created.response.usage is None
    final = completed.response
    assert final.status == "completed" and final.output_text == "".join(_deltas(events))
    assert final.usage is not None and final.usage.output_tokens == 20
    assert final.usage.total_tokens == final.usage.input_tokens + 20


async def test_the_stream_helper_accepts_the_lifecycle_and_gives_the_final_response(
    sdk: Responses,
) -> None:
    events, final = await sdk.helper("hi")
    text = "".join(_deltas(events))
    assert final.output_text == text and len(_deltas(events)) == 20
    last_delta = [e for e in events if e.type == "response.output_text.delta"][-1]
    assert last_delta.snapshot == text, "the helper's running text"
    assert final.usage is not None and final.usage.output_tokens == 20
    assert final.output[0].type == "message" and final.output[0].status == "completed"


async def test_streamed_text_equals_the_non_streamed_text(sdk: Responses) -> None:
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=60] the same question"
    _, streamed = await sdk.helper(prompt)
    whole = await sdk.create(prompt)
    assert whole.output_text == streamed.output_text and whole.status == "completed"
    assert whole.usage is not None and streamed.usage is not None
    assert whole.usage.output_tokens == streamed.usage.output_tokens == 60


async def test_max_output_tokens_ends_in_response_incomplete(sdk: Responses) -> None:
    events = await sdk.events("hi", max_output_tokens=16)
    last = events[-1]
    assert last.type == "response.incomplete" and len(_deltas(events)) == 16
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    whole = await sdk.create("hi", max_output_tokens=16)
    assert whole.status == "incomplete" and whole.output_text == "".join(_deltas(events))
    with pytest.raises(RuntimeError, match="response.completed"):
        await sdk.helper("hi", max_output_tokens=16)  # the SDK's rule, as with the real API


async def test_instructions_and_input_items_are_read(sdk: Responses) -> None:
    items = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "[mock: mode=echo] echo me"}]},
    ]
    whole = await sdk.create(items, instructions="Be brief.")
    assert whole.output_text == "echo me" and whole.instructions == "Be brief."


async def test_a_tool_call_streams_through_the_helper(sdk: Responses) -> None:
    prompt = "[mock: tool_call=get_weather] weather in Paris?"
    events, final = await sdk.helper(prompt, tools=[TOOL], tool_choice="required")
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert deltas and deltas[-1].snapshot == final.output[0].arguments  # type: ignore[union-attr]
    call = final.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert isinstance(json.loads(call.arguments)["city"], str)
    whole = await sdk.create(prompt, tools=[TOOL], tool_choice="required")
    assert whole.output[0].type == "function_call"
    assert whole.output[0].arguments == call.arguments, "the same request, the same call"


async def test_a_429_raises_rate_limit_error_with_retry_headers(sdk: Responses) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.events("[mock: fault=http_429 retry_after_ms=1500] hi")
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "2"


@pytest.mark.parametrize("fault", ["http_500", "http_503", "http_529"])
async def test_a_server_error_raises_internal_server_error(sdk: Responses, fault: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.create(f"[mock: fault={fault}] hi")
    assert caught.value.status_code == int(fault[-3:])


async def test_error_midstream_raises_api_error_after_the_text_before_it(sdk: Responses) -> None:
    events: list[Any] = []
    with pytest.raises(openai.APIError) as caught:
        await sdk.events("[mock: fault=error_midstream fault_after=3] hi", into=events)
    assert not isinstance(caught.value, openai.APIStatusError | openai.APIConnectionError)
    assert caught.value.message == MESSAGE and caught.value.code == "server_error"
    assert len(_deltas(events)) == 3


async def test_drop_midstream_raises_a_connection_error_not_a_hang(sdk: Responses) -> None:
    events: list[Any] = []
    started = time.perf_counter()
    with pytest.raises(openai.APIConnectionError) as caught:
        await sdk.events("[mock: fault=drop_midstream fault_after=3] hi", into=events)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert time.perf_counter() - started < TIMEOUT_S / 2, "it waited for a timeout"
    assert len(_deltas(events)) == 3


async def test_malformed_midstream_raises_a_json_error(sdk: Responses) -> None:
    events: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        await sdk.events("[mock: fault=malformed_midstream fault_after=3] hi", into=events)
    assert len(_deltas(events)) == 3


async def test_a_max_output_tokens_below_16_raises_bad_request_error(sdk: Responses) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.create("hi", max_output_tokens=5)
    assert caught.value.param == "max_output_tokens"
