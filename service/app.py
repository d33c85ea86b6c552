"""The service's ASGI app: the two streaming routes as plain ASGI, FastAPI for the rest.

`create_app(settings)` builds it; the lifespan opens the upstream client (and the embedded mock
when no upstream is configured) and closes them on shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import resource
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghoststream.asgi import Receive, Scope, Send, send_json
from ghoststream.gc_tuning import tune_for_many_streams
from ghoststream.http_guard import ConnectionGuard
from ghoststream.protocols import dialect
from service import openapi, upstream
from service.errors import input_error
from service.front_door import FrontDoor
from service.metrics import Metrics
from service.security import SecurityHeaders, with_cors
from service.settings import Settings

STATIC = Path(__file__).parent / "static"
RELAY_ROUTES = {"/ask-ai": "GET", "/api/chat": "POST"}
log = logging.getLogger("ghoststream")


class ServiceApp:
    """Streaming routes go straight to the front door; everything else to FastAPI (with the
    browser security headers)."""

    def __init__(self, settings: Settings, api: FastAPI, front_door: FrontDoor) -> None:
        self.settings = settings
        self.api = api
        self.secured_api = SecurityHeaders(api)
        self.front_door = front_door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = RELAY_ROUTES.get(scope["path"])
            if method is not None:
                if scope["method"] == method:
                    await self.front_door(scope, receive, send)
                else:
                    error = input_error("method_not_allowed", f"Use {method} for this path.")
                    await send_json(send, error.status, error.body(), [(b"allow", method.encode())])
                return
        await self.secured_api(scope, receive, send)


def warn_if_descriptors_run_out(max_streams: int) -> None:
    """Each stream holds two file descriptors (client and upstream). Past the process's limit
    new connections fail before any limit of ours can refuse them cleanly, so say so at start."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * max_streams + 64
    if soft != resource.RLIM_INFINITY and needed > soft:
        log.warning(
            "GHOSTSTREAM_MAX_STREAMS=%d needs about %d open files but the limit is %d: raise "
            "it (ulimit -n) or lower GHOSTSTREAM_MAX_STREAMS to %d, or streams past it fail "
            "without a clean refusal",
            max_streams,
            needed,
            soft,
            max(1, (soft - 64) // 2),
        )


def create_app(settings: Settings | None = None, guard: ConnectionGuard | None = None) -> Any:
    """The service as an ASGI app (wrapped for CORS when origins are configured). `guard`: the
    HTTP layer's limits the server runs with, whose closings `/metrics` reports."""
    settings = settings or Settings()
    metrics = Metrics()
    if guard is not None:
        guard.on_close = metrics.connection_closed
    front_door = FrontDoor(settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            url = settings.upstream_url()
            if settings.uses_embedded_mock:
                from mock_llm.config import MockConfig  # the one use of the mock: offline default
                from mock_llm.embedded import embedded_mock

                demo = MockConfig(ttft_ms=350, itl_ms=35, tokens=160)  # slow enough to watch
                root = await stack.enter_async_context(embedded_mock(demo))
                url = settings.upstream_url(mock_root=root)
                log.info("no upstream configured: using the embedded mock LLM")
            else:
                log.info("upstream %s, model %s", settings.upstream_shown, settings.llm_model)
            client = await stack.enter_async_context(
                upstream.session(settings.connect_timeout_s, settings.max_upstream_connections)
            )
            front_door.upstream = upstream.Upstream(
                client,
                dialect(settings.llm_api),
                url,
                settings.upstream_key,
                settings.llm_model,
                settings.retry_attempts,
                settings.retry_max_wait_s,
                settings.max_tokens_limit,
            )
            tune_for_many_streams()
            warn_if_descriptors_run_out(settings.max_streams)
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
        """Open to anyone, so with auth on it says only that the service is up; without auth
        (a development setup) also where it relays to, never with credentials."""
        if settings.service_api_keys:
            return {"status": "ok"}
        return {"status": "ok", "upstream": settings.upstream_shown, "model": settings.llm_model}

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
    return with_cors(ServiceApp(settings, api, front_door), settings.cors_origins)
