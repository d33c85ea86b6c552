"""`POST /chat {"q": "..."}` streams the model's answer as `event: delta` / `data: {"t": "..."}`
events and one `event: end`; the upstream is any OpenAI-compatible `/v1` URL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel


class Question(BaseModel):
    q: str


def create_app(upstream: str, key: str = "sk-own-service") -> FastAPI:
    app = FastAPI()

    async def answer(question: str) -> AsyncIterator[bytes]:
        body = {
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": question}],
        }
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(timeout=30) as client:
            async with client.stream(
                "POST", f"{upstream}/chat/completions", json=body, headers=headers
            ) as response:
                async for line in response.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    choices = json.loads(line[6:]).get("choices") or [{}]
                    text = choices[0].get("delta", {}).get("content")
                    if text:
                        yield b"event: delta\ndata: %s\n\n" % json.dumps({"t": text}).encode()
        yield b"event: end\ndata: {}\n\n"

    @app.post("/chat")
    async def chat(question: Question) -> StreamingResponse:
        return StreamingResponse(answer(question.q), media_type="text/event-stream")

    return app
