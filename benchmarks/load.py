"""Drive many streams at once and measure what the server processes spent doing it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psutil
from tqdm import tqdm

from ghoststream.harness.records import StreamRecord


async def run_streams(
    open_stream: Callable[[int], Awaitable[StreamRecord]],
    count: int,
    concurrency: int,
    label: str = "",
) -> list[StreamRecord]:
    """Run `count` streams, at most `concurrency` at a time, with a progress bar on terminals."""
    limit = asyncio.Semaphore(concurrency)
    bar = tqdm(total=count, desc=label, leave=False, disable=None, unit="stream")

    async def one(i: int) -> StreamRecord:
        async with limit:
            record = await open_stream(i)
        bar.update()
        return record

    try:
        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        bar.close()


@dataclass
class CpuMeter:
    """User+system CPU seconds a set of processes spent between `start()` and `stop()`."""

    pids: dict[str, int]
    _before: dict[str, float] | None = None
    spent: dict[str, float] | None = None

    def _now(self) -> dict[str, float]:
        return {name: _tree_cpu(pid) for name, pid in self.pids.items()}

    def start(self) -> None:
        self._before = self._now()

    def stop(self) -> dict[str, float]:
        assert self._before is not None, "start() first"
        after = self._now()
        self.spent = {name: after[name] - self._before[name] for name in self.pids}
        return self.spent


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (nginx's workers, the service's)."""
    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def rss_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)
