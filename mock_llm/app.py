"""The mock's ASGI app: the streaming hot path plus FastAPI for everything that is not hot.

`create_app(config)` is the one way to build it, for the CLI, for tests in-process, and for the
service's embedded default upstream.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from mock_llm import metrics, openapi, scenarios, wire
from mock_llm.asgi import Receive, Scope, Send
from mock_llm.config import MockConfig
from mock_llm.ledger import Ledger
from mock_llm.streaming import ChatCompletions

CHAT_PATH = "/v1/chat/completions"
MAX_WAIT_S = 300.0


class MockApp:
    """Sends `POST /v1/chat/completions` straight to the raw ASGI handler, the rest to FastAPI."""

    def __init__(self, config: MockConfig, api: FastAPI, chat: ChatCompletions) -> None:
        self.config = config
        self.api = api
        self.chat = chat
        self.ledger = chat.ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CHAT_PATH and scope["method"] == "POST":
            await self.chat(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _openai_error(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def create_app(config: MockConfig | None = None) -> MockApp:
    config = config or MockConfig()
    known = scenarios.load(config.scenarios_path) if config.scenarios_path else []
    ledger = Ledger(config.history)
    chat = ChatCompletions(config, ledger, known)
    api = FastAPI(
        title="ghoststream mock LLM",
        summary="An OpenAI-compatible mock that streams on a deterministic schedule.",
        version="1.0",
    )

    def check_key(authorization: Annotated[str | None, Header()] = None) -> None:
        if config.api_key is not None and authorization != f"Bearer {config.api_key}":
            raise StarletteHTTPException(401, "Incorrect API key provided.")

    @api.exception_handler(StarletteHTTPException)
    async def openai_style_errors(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 401:
            body = wire.error_body(str(error.detail), "invalid_request_error", "invalid_api_key")
        elif error.status_code in (404, 405):
            body = wire.invalid_request(f"Invalid URL ({request.method} {request.url.path})")
        else:
            body = wire.invalid_request(str(error.detail))
        return _openai_error(error.status_code, body)

    def model_card(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "mock"}

    @api.get("/v1/models", dependencies=[Depends(check_key)])
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card(config.model)]}

    @api.get("/v1/models/{model_id}", dependencies=[Depends(check_key)])
    async def get_model(model_id: str) -> dict[str, Any]:
        return model_card(model_id)

    @api.get("/mock/stats")
    async def stats() -> dict[str, int]:
        """Counters: started, completed, cancelled, faulted, open, tokens_sent, tokens_saved."""
        return ledger.stats()

    @api.get("/mock/requests")
    async def requests(
        wait_until_closed: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0.0,
    ) -> dict[str, Any]:
        """Recent streams in order. `wait_until_closed=S` first waits up to S seconds for every
        open stream to end; `all_closed` says whether they did."""
        closed = await ledger.wait_until_closed(wait_until_closed)
        return {"requests": ledger.requests(), "all_closed": closed, "now": time.time()}

    @api.post("/mock/reset")
    async def reset() -> dict[str, bool]:
        """Forget finished streams and zero the counters."""
        ledger.reset()
        return {"reset": True}

    metrics_registry = metrics.registry_for(ledger)

    @api.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """The ledger's counters for Prometheus: open streams, outcomes, tokens, push-backs."""
        return Response(metrics.render(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    openapi.install(api)
    return MockApp(config, api, chat)
