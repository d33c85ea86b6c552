"""Logging set-up: one JSON object per line, with the stream's request id when there is one.

Log calls pass `extra={"request_id": ...}`; the same id goes to the upstream as `X-Request-ID`
and to the client in the `done` / `error` event, so one id follows a stream everywhere.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

FIELDS = ("request_id", "client", "code", "tokens", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str, fmt: str = "json") -> None:
    """Root logging for the service and uvicorn alike; httpx/aiohttp chatter kept at warning."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for noisy in ("httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
