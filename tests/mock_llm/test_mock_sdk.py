"""The official `openai` SDK talks to the mock as to the real API: one body per test, run with
the sync and the async client (as openai-python's own streaming tests do)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from ghoststream.harness.servers import RunningProcess, serve_in_process
from tests.mock_llm.openai_clients import TIMEOUT_S, OpenAIClients

if TYPE_CHECKING:
    from tests.conftest import MockServer

KEY = "sk-mock-right-key"


class SDK(OpenAIClients):
    """Chat Completions through the sync or the async client."""

    async def create(self, prompt: str, **params: Any) -> ChatCompletion:
        """A `stream: false` completion."""
        args = _args(prompt, params)
        if self.sync is not None:
            return self.sync.chat.completions.create(**args)
        assert self.async_ is not None
        return await self.async_.chat.completions.create(**args)

    async def stream(
        self, prompt: str, into: list[ChatCompletionChunk] | None = None, **params: Any
    ) -> list[ChatCompletionChunk]:
        """Every chunk of a streamed completion; with `into`, chunks land there as they arrive,
        so a test still sees them when the iteration raises."""
        chunks = [] if into is None else into
        args = _args(prompt, {"stream": True, **params})
        if self.sync is not None:
            for chunk in self.sync.chat.completions.create(**args):
                chunks.append(chunk)
            return chunks
        assert self.async_ is not None
        async with asyncio.timeout(TIMEOUT_S * 2):
            async for chunk in await self.async_.chat.completions.create(**args):
                chunks.append(chunk)
        return chunks

    async def model_ids(self) -> list[str]:
        if self.sync is not None:
            return [model.id for model in self.sync.models.list()]
        assert self.async_ is not None
        return [model.id async for model in self.async_.models.list()]


def _args(prompt: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], **params}


def _text(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, mock: MockServer) -> AsyncIterator[SDK]:
    client = SDK(request.param, mock.v1)
    yield client
    await client.close()


async def test_chunks_come_in_openais_order(sdk: SDK) -> None:
    """Role first, then content pieces, then the finish chunk, then usage with no choices."""
    chunks = await sdk.stream("hi", stream_options={"include_usage": True})
    role, *pieces, finish, usage = chunks
    assert role.choices[0].delta.role == "assistant" and role.choices[0].delta.content == ""
    assert len(pieces) == 20, "the session mock's --tokens"
    assert all(p.choices[0].delta.content and p.choices[0].finish_reason is None for p in pieces)
    assert finish.choices[0].finish_reason == "stop" and finish.choices[0].delta.content is None
    assert usage.choices == [] and usage.usage is not None
    assert usage.usage.completion_tokens == 20
    assert usage.usage.total_tokens == usage.usage.prompt_tokens + 20
    assert {c.id for c in chunks} == {role.id} and role.id.startswith("chatcmpl-")
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"gpt-4o-mini"}


async def test_without_include_usage_there_is_no_usage_chunk(sdk: SDK) -> None:
    chunks = await sdk.stream("hi")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)


async def test_streamed_text_equals_the_non_streamed_text(sdk: SDK) -> None:
    prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=60] the same question"
    streamed = await sdk.stream(prompt, stream_options={"include_usage": True})
    whole = await sdk.create(prompt)
    assert _text(streamed) == whole.choices[0].message.content
    assert whole.choices[0].finish_reason == "stop" and whole.choices[0].message.role == "assistant"
    assert whole.usage is not None and streamed[-1].usage is not None
    assert whole.usage.completion_tokens == streamed[-1].usage.completion_tokens == 60


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
async def test_a_token_limit_cuts_the_answer_with_finish_reason_length(
    sdk: SDK, limit: str
) -> None:
    streamed = await sdk.stream("hi", **{limit: 5})
    whole = await sdk.create("hi", **{limit: 5})
    assert streamed[-1].choices[0].finish_reason == "length"
    assert len([c for c in streamed if c.choices[0].delta.content]) == 5
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None and whole.usage.completion_tokens == 5
    assert whole.choices[0].message.content == _text(streamed)


async def test_a_429_raises_rate_limit_error_with_retry_headers(sdk: SDK) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.stream("[mock: fault=http_429 retry_after_ms=1500] hi")
    error = caught.value
    assert error.status_code == 429 and error.code == "rate_limit_exceeded"
    assert error.response.headers["retry-after"] == "2"
    assert error.response.headers["retry-after-ms"] == "1500"


@pytest.mark.parametrize("fault", ["http_500", "http_503"])
async def test_a_server_error_raises_internal_server_error(sdk: SDK, fault: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.create(f"[mock: fault={fault}] hi")
    assert caught.value.status_code == int(fault[-3:])
    assert caught.value.type == "server_error"


async def test_error_midstream_raises_api_error_after_the_tokens_before_it(sdk: SDK) -> None:
    chunks: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIError) as caught:
        await sdk.stream("[mock: fault=error_midstream fault_after=3] hi", into=chunks)
    assert not isinstance(caught.value, openai.APIStatusError | openai.APIConnectionError)
    assert caught.value.message == "The server had an error while processing your request."
    assert caught.value.type == "server_error"
    assert len(chunks) == 4 and len(_text(chunks).split()) == 3


async def test_drop_midstream_ends_the_iteration_with_a_connection_error_not_a_hang(
    sdk: SDK,
) -> None:
    chunks: list[ChatCompletionChunk] = []
    started = time.perf_counter()
    with pytest.raises(openai.APIConnectionError) as caught:
        await sdk.stream("[mock: fault=drop_midstream fault_after=3] hi", into=chunks)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert time.perf_counter() - started < TIMEOUT_S / 2, "it waited for a timeout"
    assert len(chunks) == 4


async def test_malformed_midstream_raises_a_json_error(sdk: SDK) -> None:
    chunks: list[ChatCompletionChunk] = []
    with pytest.raises(json.JSONDecodeError):
        await sdk.stream("[mock: fault=malformed_midstream fault_after=3] hi", into=chunks)
    assert len(chunks) == 4


async def test_a_bad_request_raises_bad_request_error(sdk: SDK) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.create("[mock: fault=http_418] hi")
    assert caught.value.status_code == 400 and caught.value.type == "invalid_request_error"
    assert "unknown fault 'http_418'" in caught.value.message


async def test_models_list_names_the_configured_model(sdk: SDK) -> None:
    assert await sdk.model_ids() == ["gpt-4o-mini"]


# -- a mock that wants an API key ----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_process() -> Iterator[RunningProcess]:
    args = ["--log-level", "warning", "--api-key", KEY, "--model", "mock-model-x"]
    with serve_in_process("mock_llm", [*args, "--ttft-ms", "0", "--itl-ms", "0"]) as server:
        yield server


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_wrong_api_key_raises_authentication_error(
    keyed_process: RunningProcess, kind: str
) -> None:
    client = SDK(kind, f"{keyed_process.url}/v1", api_key="sk-wrong")
    try:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.stream("hi")
        assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            await client.model_ids()
    finally:
        await client.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_right_api_key_is_let_in(keyed_process: RunningProcess, kind: str) -> None:
    client = SDK(kind, f"{keyed_process.url}/v1", api_key=KEY)
    try:
        assert await client.model_ids() == ["mock-model-x"]
        assert (await client.create("hi")).choices[0].message.content
    finally:
        await client.close()
