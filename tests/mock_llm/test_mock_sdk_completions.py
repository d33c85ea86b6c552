"""The official `openai` SDK's legacy `completions` client talks to the mock as to the real API,
as `vllm bench serve` and guidellm do; each test body runs with the sync and the async client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import openai
import pytest
from openai.types import Completion

from tests.mock_llm.openai_clients import TIMEOUT_S, OpenAIClients

if TYPE_CHECKING:
    from tests.conftest import MockServer

USAGE = {"include_usage": True}


class Completions(OpenAIClients):
    """Legacy completions through the sync or the async client."""

    async def create(self, prompt: str | list[str], **params: Any) -> Completion:
        args = {"model": "gpt-3.5-turbo-instruct", "prompt": prompt, **params}
        completion: Completion
        if self.sync is not None:
            completion = self.sync.completions.create(**args)
        else:
            assert self.async_ is not None
            completion = await self.async_.completions.create(**args)
        return completion

    async def stream(
        self, prompt: str, into: list[Completion] | None = None, **params: Any
    ) -> list[Completion]:
        """Every chunk; with `into`, chunks land there as they arrive."""
        chunks = [] if into is None else into
        args = {"model": "gpt-3.5-turbo-instruct", "prompt": prompt, "stream": True, **params}
        if self.sync is not None:
            chunks.extend(self.sync.completions.create(**args))
            return chunks
        assert self.async_ is not None
        async with asyncio.timeout(TIMEOUT_S * 2):
            async for chunk in await self.async_.completions.create(**args):
                chunks.append(chunk)
        return chunks


def _text(chunks: list[Completion]) -> str:
    return "".join(c.choices[0].text for c in chunks if c.choices)


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, mock: MockServer) -> AsyncIterator[Completions]:
    client = Completions(request.param, mock.v1)
    yield client
    await client.close()


async def test_chunks_are_text_then_finish_then_usage(sdk: Completions) -> None:
    chunks = await sdk.stream("hi", max_tokens=100, stream_options=USAGE)
    *pieces, finish, usage = chunks
    assert len(pieces) == 20, "the session mock's --tokens"
    assert all(p.choices[0].text and p.choices[0].finish_reason is None for p in pieces)
    assert finish.choices[0].finish_reason == "stop" and finish.choices[0].text == ""
    assert usage.choices == [] and usage.usage is not None
    assert usage.usage.completion_tokens == 20
    assert {c.object for c in chunks} == {"text_completion"}
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("cmpl-")


async def test_streamed_text_equals_the_non_streamed_text(sdk: Completions) -> None:
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=60] the same question"
    streamed = await sdk.stream(prompt, max_tokens=100, stream_options=USAGE)
    whole = await sdk.create(prompt, max_tokens=100)
    assert whole.choices[0].text == _text(streamed)
    assert whole.choices[0].finish_reason == "stop"
    assert whole.usage is not None and streamed[-1].usage is not None
    assert whole.usage.completion_tokens == streamed[-1].usage.completion_tokens == 60


async def test_max_tokens_defaults_to_16_as_the_api_does(sdk: Completions) -> None:
    chunks = await sdk.stream("hi")
    assert len([c for c in chunks if c.choices[0].text]) == 16
    assert chunks[-1].choices[0].finish_reason == "length"
    assert all(c.usage is None for c in chunks), "no usage chunk without include_usage"


async def test_a_prompt_may_be_a_list_of_one_string(sdk: Completions) -> None:
    whole = await sdk.create(["[mock: mode=echo] echo me"])
    assert whole.choices[0].text == "echo me"


async def test_a_429_raises_rate_limit_error(sdk: Completions) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.stream("[mock: fault=http_429] hi")
    assert (
        caught.value.code == "rate_limit_exceeded"
        and "retry-after" in caught.value.response.headers
    )


@pytest.mark.parametrize("fault", ["http_500", "http_503", "http_529"])
async def test_a_server_error_raises_internal_server_error(sdk: Completions, fault: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.create(f"[mock: fault={fault}] hi")
    assert caught.value.status_code == int(fault[-3:])


async def test_error_midstream_raises_api_error_after_the_text_before_it(
    sdk: Completions,
) -> None:
    chunks: list[Completion] = []
    with pytest.raises(openai.APIError) as caught:
        await sdk.stream("[mock: fault=error_midstream fault_after=3] hi", into=chunks)
    assert not isinstance(caught.value, openai.APIStatusError | openai.APIConnectionError)
    assert caught.value.type == "server_error" and len(chunks) == 3


async def test_drop_midstream_raises_a_connection_error(sdk: Completions) -> None:
    chunks: list[Completion] = []
    with pytest.raises(openai.APIConnectionError) as caught:
        await sdk.stream("[mock: fault=drop_midstream fault_after=3] hi", into=chunks)
    assert not isinstance(caught.value, openai.APITimeoutError) and len(chunks) == 3


async def test_malformed_midstream_raises_a_json_error(sdk: Completions) -> None:
    chunks: list[Completion] = []
    with pytest.raises(json.JSONDecodeError):
        await sdk.stream("[mock: fault=malformed_midstream fault_after=3] hi", into=chunks)
    assert len(chunks) == 3


async def test_a_list_of_prompts_raises_bad_request_error(sdk: Completions) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.create(["one", "two"])
    assert caught.value.param == "prompt"
