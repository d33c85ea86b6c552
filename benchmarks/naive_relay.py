"""The baseline: the tutorial's relay, written as it teaches it, kept only to be measured against.

openai SDK `stream=True` and `StreamingResponse` yielding raw text. Its known defects (not valid
SSE, errors swallowed into the text, upstream leaked while waiting) are the point: do not fix them.

    python -m benchmarks.naive_relay --port 8002   (OPENAI_BASE_URL / OPENAI_API_KEY from the env)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI(
    api_key=os.getenv("OPENAI_API_KEY", "sk-naive"),
    base_url=os.getenv("OPENAI_BASE_URL"),
    max_retries=0,
)


async def openai_stream_generator(
    user_prompt: str, request_id: str | None = None
) -> AsyncIterator[str]:
    try:
        stream = await client.chat.completions.create(
            model=os.getenv("LLM_MODEL", "gpt-4o-mini"),
            messages=[{"role": "user", "content": user_prompt}],
            stream=True,
            # Not the tutorial's: passed on only so a benchmark can match the mock's record.
            extra_headers={"X-Request-Id": request_id} if request_id else None,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content is not None:
                yield chunk.choices[0].delta.content
    except Exception as e:
        yield f"\n[Error: {e!s}]"


@app.get("/ask-ai")
async def ask_ai(
    prompt: str, x_request_id: Annotated[str | None, Header()] = None
) -> StreamingResponse:
    return StreamingResponse(
        openai_stream_generator(prompt, x_request_id), media_type="text/event-stream"
    )


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--fd", type=int, default=None)
    args = parser.parse_args()
    where = {"fd": args.fd} if args.fd is not None else {"host": args.host, "port": args.port}
    uvicorn.run(app, log_level="warning", access_log=False, **where)


if __name__ == "__main__":
    main()
