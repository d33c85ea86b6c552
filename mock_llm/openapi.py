"""The OpenAPI entry for `POST /v1/chat/completions`, which is plain ASGI and so invisible to
FastAPI; the mock's other routes are documented by FastAPI itself."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ghoststream.protocols.chat import ROLES

OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def chat_path() -> dict[str, Any]:
    message = {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": sorted(ROLES)},
            "content": {"type": ["string", "null"]},
        },
    }
    body = {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": {"type": "string"},
            "messages": {"type": "array", "items": message, "minItems": 1},
            "stream": {"type": "boolean"},
            "stream_options": {
                "type": "object",
                "properties": {"include_usage": {"type": "boolean"}},
            },
            "max_tokens": {"type": "integer", "minimum": 1},
            "max_completion_tokens": {"type": "integer", "minimum": 1},
            "n": {"type": "integer", "enum": [1]},
        },
    }
    errors = {"content": {"application/json": {"schema": OPENAI_ERROR}}}
    return {
        "post": {
            "summary": "Create a chat completion (streamed with `stream: true`)",
            "operationId": "create_chat_completion",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {
                    "description": "A `chat.completion`, or its chunks as Server-Sent Events.",
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                },
                "400": {"description": "Invalid request.", **errors},
                "401": {"description": "Wrong API key.", **errors},
                "429": {"description": "Rate limited (fault or --max-concurrency).", **errors},
                "500": {"description": "Injected fault `http_500`.", **errors},
                "503": {"description": "Injected fault `http_503`.", **errors},
            },
        }
    }


def install(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(
                title=api.title, version=api.version, summary=api.summary, routes=api.routes
            )
            schema["paths"] = {"/v1/chat/completions": chat_path(), **schema["paths"]}
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
