"""Read the mock's evidence (`/mock/requests`, `/mock/stats`) and reset it between cases."""

from __future__ import annotations

from typing import Any

import httpx


class MockEvidence:
    """The mock's own account of what happened to each stream, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def _call(self, method: str, path: str, timeout: float = 10.0, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as client:
            response = await client.request(method, path, params=params or None)
            response.raise_for_status()
            return response.json()

    async def requests(self, wait_until_closed: float = 5.0) -> list[dict[str, Any]]:
        """The mock's stream records, after it long-polls until none is open (or the wait ends)."""
        body = await self._call(
            "GET",
            "/mock/requests",
            timeout=wait_until_closed + 10,
            wait_until_closed=wait_until_closed,
        )
        return list(body["requests"])

    async def only_request(self, wait_until_closed: float = 5.0) -> dict[str, Any]:
        """The single stream recorded since the last reset."""
        records = await self.requests(wait_until_closed)
        assert len(records) == 1, records
        return records[0]

    async def stats(self) -> dict[str, int]:
        return dict(await self._call("GET", "/mock/stats"))

    async def reset(self) -> None:
        await self._call("POST", "/mock/reset")
