"""The mock's ASGI app: the generation hot path plus FastAPI for everything that is not hot.

`create_app(config)` is the one way to build it, for the CLI, for tests in-process, and for the
service's embedded default upstream. Every dialect in `ghoststream.protocols.DIALECTS` is served
at its own route, by the same `Generation` app.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghoststream.asgi import Receive, Scope, Send
from ghoststream.http_guard import ConnectionGuard
from ghoststream.protocols import DIALECTS, openai_errors

from . import faults, metrics, openapi, scenarios
from .config import MockConfig
from .engine import Engine, PrefixCache
from .ledger import Ledger
from .rate_limits import RateLimits
from .streaming import Generation

MAX_WAIT_S = 300.0
VERSION = "0.11.0"
"""What `GET /version` reports, as a vLLM server does; benchmark clients only check it answers."""


class MockApp:
    """Sends each dialect's `POST` route straight to its raw ASGI handler, the rest to FastAPI."""

    def __init__(self, ledger: Ledger, api: FastAPI, routes: dict[str, Generation]) -> None:
        self.ledger = ledger
        self.api = api
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            generation = self.routes.get(scope["path"])
            if generation is not None:
                await generation(scope, receive, send)
                return
        await self.api(scope, receive, send)


def create_app(config: MockConfig | None = None, guard: ConnectionGuard | None = None) -> MockApp:
    """The mock; `guard`: the HTTP layer's limits it is served with, counted in `/metrics`."""
    config = config or MockConfig()
    known = scenarios.load(config.scenarios_path) if config.scenarios_path else []
    ledger = Ledger(config.history)
    tally = faults.FaultTally()
    limits = RateLimits(config.rpm, config.tpm)
    seqs = config.max_num_seqs
    engine = None if seqs is None else Engine(seqs, config.max_queue)
    cache = PrefixCache() if config.prefix_cache else None
    routes = {
        d.path: Generation(d, config, ledger, known, tally, limits, engine, cache)
        for d in DIALECTS.values()
    }
    api = FastAPI(
        title="ghoststream mock LLM",
        summary="A mock LLM API (OpenAI, Anthropic) that streams on a deterministic schedule.",
        version="1.0",
    )

    def check_key(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        key = config.api_key
        if key is not None and authorization != f"Bearer {key}" and x_api_key != key:
            raise StarletteHTTPException(401, "Incorrect API key provided.")

    @api.exception_handler(StarletteHTTPException)
    async def openai_style_errors(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code in (404, 405):
            message = f"Invalid URL ({request.method} {request.url.path})"
        else:
            message = str(error.detail)
        body = openai_errors.for_status(error.status_code, message)
        return JSONResponse(body, status_code=error.status_code)

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
        tally.clear()
        return {"reset": True}

    metrics_registry = metrics.registry_for(ledger)
    if guard is not None:
        metrics_registry.register(guard.collector("mock_llm"))

    @api.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """The ledger's counters for Prometheus: open streams, outcomes, tokens, push-backs."""
        return Response(metrics.render(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/health", include_in_schema=False)
    async def health() -> Response:
        """vLLM's liveness route: 200 with an empty body; benchmark clients call it first."""
        return Response(status_code=200)

    @api.get("/version")
    async def version() -> dict[str, str]:
        """vLLM's version route."""
        return {"version": VERSION}

    openapi.install(api)
    return MockApp(ledger, api, routes)
