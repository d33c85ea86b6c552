"""Locust users for any streaming service (`pip install ghoststream[load]`).

Subclass `StreamUser` in your locustfile: set `route` to your path, `body` to what it takes and
`format` to its stream format (`ghoststream.protocols.register_format`), and add a `@task` that
calls `self.ask()`. Each stream is reported as `TTFT`, `ITL` and `stream` entries and one raw
JSON line (`--records`); the run ends with a summary from the raw lines, refusals are honoured
(Retry-After) and a saturated generator is flagged. Only `users` and `hooks` import Locust (and
with it gevent's monkey-patching), so `StreamUser` is loaded on first use; the other modules are
plain and can be imported anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghoststream.load.users import StreamUser

__all__ = ["StreamUser"]


def __getattr__(name: str) -> Any:
    if name == "StreamUser":
        from ghoststream.load.users import StreamUser

        return StreamUser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
