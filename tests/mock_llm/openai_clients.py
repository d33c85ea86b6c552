"""The openai SDK's sync or async client behind one face, so one test body tests both; each
API's SDK tests subclass it with that API's calls."""

from __future__ import annotations

from typing import Any

import openai

TIMEOUT_S = 5.0
"""The SDK's own timeout: long enough that a stream ending early is not mistaken for one."""


class OpenAIClients:
    def __init__(self, kind: str, base_url: str, api_key: str = "sk-anything") -> None:
        self.kind = kind
        options: dict[str, Any] = {
            "base_url": base_url,
            "api_key": api_key,
            "max_retries": 0,
            "timeout": TIMEOUT_S,
        }
        self.sync = openai.OpenAI(**options) if kind == "sync" else None
        self.async_ = openai.AsyncOpenAI(**options) if kind == "async" else None

    async def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.async_ is not None:
            await self.async_.close()
