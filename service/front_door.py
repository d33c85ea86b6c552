"""The streaming routes' front door, as plain ASGI: who asks, what they ask, whether they may.

Order: identify (API key, 401) -> request rate (429) -> input (4xx) -> stream slots (429 / 503)
-> the stream itself (`service.stream`). Every refusal is a JSON error before any streaming.
Plain ASGI because Starlette's StreamingResponse leaves closing the body iterator to garbage
collection; here one `finally` (in `Stream.run`) closes the upstream however the stream ends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets

from ghoststream import asgi
from ghoststream.asgi import Receive, Scope, Send
from service import chat_input
from service.admission import Admission
from service.errors import InputError, input_error
from service.metrics import Metrics
from service.settings import Settings
from service.stream import Stream
from service.upstream import Upstream

log = logging.getLogger("ghoststream.front_door")
_ID_PREFIX = secrets.token_hex(6)  # unique per process; the counter makes it unique per stream
_ID_COUNTER = itertools.count(1)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(candidate):
                return candidate
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The JSON request body, refused early when over `limit`; None if the client left."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _too_large(limit)
        if name == b"content-type" and not value.lower().startswith(b"application/json"):
            raise input_error("unsupported_media_type", "Send the body as application/json.")
    try:
        return await asgi.read_body(receive, limit)
    except asgi.BodyTooLarge:
        raise _too_large(limit) from None
    except asyncio.CancelledError:  # only the server's shutdown cancels a request's task
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        raise input_error(
            "shutting_down", "The service is restarting; send the request again.", 1.0
        ) from None


def _too_large(limit: int) -> InputError:
    return input_error("body_too_large", f"The body is over {limit} bytes.")


class FrontDoor:
    """`GET /ask-ai` and `POST /api/chat`. `upstream` is set when the app starts."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.admission = Admission(settings)
        self.upstream: Upstream | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        id_header = (b"x-request-id", request_id.encode())
        try:
            client = self.admission.identify(scope)
            self.admission.take_request(client)
            if scope["method"] == "GET":
                chat = chat_input.from_query(scope["query_string"], self.settings)
            else:
                body = await read_body(scope, receive, self.settings.max_body_bytes)
                if body is None:
                    return
                chat = chat_input.from_body(body, self.settings)
            with self.admission.stream_slot(client):
                assert self.upstream is not None, "the app's lifespan sets the upstream"
                stream = Stream(self.settings, self.upstream, self.metrics, chat, request_id, send)
                await stream.run(receive)
        except InputError as error:
            self.metrics.rejections.labels(error.code).inc()
            log.info(
                "refused: %s", error.code, extra={"request_id": request_id, "code": error.code}
            )
            headers = [id_header, (b"cache-control", b"no-store"), *error.headers()]
            await asgi.send_json(send, error.status, error.body(), headers)
