"""The service as each server process builds it, whether one process serves or several.

With `--workers N` uvicorn starts N processes that each import what they serve by name: the app
factory `service.serving:build` and the protocol `service.serving:ServiceHttp`. Each builds its
settings, logging and HTTP guard from the environment, so every worker is configured alike.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ghoststream.http_guard import ConnectionGuard, GuardedHttpProtocol
from service import logs
from service.app import create_app
from service.settings import Settings


class ServiceHttp(GuardedHttpProtocol):
    """The HTTP layer with the service's limits; `build()` sets the guard before serving."""

    guard: ClassVar[ConnectionGuard] = ConnectionGuard()


def build() -> Any:
    """A worker's app: settings from the environment, logging, the guard's limits."""
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    ServiceHttp.guard = ConnectionGuard(settings.http_limits())
    return create_app(settings, ServiceHttp.guard)
