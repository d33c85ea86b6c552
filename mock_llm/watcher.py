"""The disconnect watcher every response runs under, generated or replayed.

A watcher task listens for `http.disconnect` the whole time and cancels the response at once,
even in the middle of a long wait or a send blocked on a client that stopped reading; the
ledger entry is closed exactly once, whichever way the response ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ghoststream.asgi import Receive, until_disconnect

from .ledger import Ledger, StreamEntry


class _Watch:
    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.disconnected = False
        self.finished = False

    async def run(self, receive: Receive) -> None:
        await until_disconnect(receive)
        if not self.finished:
            self.disconnected = True
            self.task.cancel()


async def watched(
    receive: Receive, ledger: Ledger, entry: StreamEntry, work: Callable[[], Awaitable[None]]
) -> None:
    """Run `work` (which closes `entry` when it ends normally); the client leaving cancels it
    and closes the entry `cancelled`, an exception (`DropConnection`, or anything unforeseen)
    closes it `fault`, so no entry is ever left open."""
    task = asyncio.current_task()
    assert task is not None
    watch = _Watch(task)
    watcher = asyncio.get_running_loop().create_task(watch.run(receive))
    try:
        await work()
    except asyncio.CancelledError:
        ledger.close(entry, "cancelled")
        if not watch.disconnected:
            raise
        task.uncancel()
    except Exception:
        ledger.close(entry, "fault")
        raise
    finally:
        watch.finished = True
        watcher.cancel()
