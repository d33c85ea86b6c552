"""The service's ASGI app: the two streaming routes as plain ASGI, FastAPI for the rest.

`create_app(settings)` builds it; the lifespan opens the upstream client (and the embedded mock
when no upstream is configured) and closes them on shutdown.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from mock_llm.asgi import Receive, Scope, Send, send_json
from mock_llm.gc_tuning import tune_for_many_streams
from service import openapi, upstream
from service.embedded import embedded_mock
from service.errors import input_error
from service.metrics import Metrics
from service.relay import Relay
from service.security import SecurityHeaders, with_cors
from service.settings import Settings

STATIC = Path(__file__).parent / "static"
RELAY_ROUTES = {"/ask-ai": "GET", "/api/chat": "POST"}
log = logging.getLogger("ghoststream")


class ServiceApp:
    """Streaming routes go straight to the relay; everything else to FastAPI (with the
    browser security headers)."""

    def __init__(self, settings: Settings, api: FastAPI, relay: Relay) -> None:
        self.settings = settings
        self.api = api
        self.secured_api = SecurityHeaders(api)
        self.relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = RELAY_ROUTES.get(scope["path"])
            if method is not None:
                if scope["method"] == method:
                    await self.relay(scope, receive, send)
                else:
                    error = input_error("method_not_allowed", f"Use {method} for this path.")
                    await send_json(send, error.status, error.body(), [(b"allow", method.encode())])
                return
        await self.secured_api(scope, receive, send)


def create_app(settings: Settings | None = None) -> Any:
    """The service as an ASGI app (wrapped for CORS when origins are configured)."""
    settings = settings or Settings()
    metrics = Metrics()
    relay = Relay(settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            upstream_settings = settings
            if settings.uses_embedded_mock:
                base_url = await stack.enter_async_context(embedded_mock())
                upstream_settings = settings.model_copy(update={"openai_base_url": base_url})
                log.info("no OPENAI_API_KEY or OPENAI_BASE_URL set: using the embedded mock LLM")
            else:
                log.info("upstream %s, model %s", settings.upstream_base_url, settings.llm_model)
            client = await stack.enter_async_context(upstream.session(settings))
            relay.upstream = upstream.Upstream(client, upstream_settings)
            tune_for_many_streams()
            yield

    api = FastAPI(
        title="ghoststream",
        summary="Streams an LLM's answer to browsers over Server-Sent Events.",
        version="1.0",
        lifespan=lifespan,
    )

    @api.exception_handler(StarletteHTTPException)
    async def json_errors(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(
            error.status_code, "invalid_request"
        )
        body = {"error": {"code": code, "message": str(error.detail)}}
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @api.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    @api.get("/favicon.ico", include_in_schema=False, status_code=204)
    async def favicon() -> None:
        """No icon; answering keeps browsers' consoles free of a 404."""

    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        upstream = "embedded mock" if settings.uses_embedded_mock else settings.upstream_base_url
        return {"status": "ok", "upstream": upstream, "model": settings.llm_model}

    @api.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus exposition: open streams, TTFT and duration, tokens, errors by code."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @api.get("/api/personas")
    async def personas() -> dict[str, Any]:
        """The personas a client may choose by name."""
        return {
            "default": settings.default_persona,
            "personas": [
                {"name": name, "label": persona.label}
                for name, persona in settings.personas.items()
            ],
        }

    openapi.install(api, settings)
    return with_cors(ServiceApp(settings, api, relay), settings.cors_origins)
