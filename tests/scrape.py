"""Read the service's Prometheus metrics in tests."""

from __future__ import annotations

import asyncio

import httpx


async def metric(url: str, name: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def wait_for_metric(url: str, name: str, value: float, timeout: float = 5.0) -> None:
    """Until the service reports `name == value` (a condition with a deadline, not a sleep)."""
    async with asyncio.timeout(timeout):
        while await metric(url, name) != value:
            await asyncio.sleep(0.02)
