"""OpenAPI entries for the two streaming routes, which are plain ASGI and so invisible to
FastAPI: clients, docs and the fuzzing tests all read the same schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.errors import INPUT_ERRORS
from service.settings import Settings

ERROR_BODY = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": sorted(INPUT_ERRORS)},
                "message": {"type": "string"},
                "retry_after": {"type": "number"},
            },
        }
    },
}
EVENT_STREAM = {
    "description": "Server-Sent Events: `token`* then exactly one `done` or `error`.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def _refusals(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "Refused before streaming.",
            "content": {"application/json": {"schema": ERROR_BODY}},
        }
        for status in statuses
    }


def stream_paths(settings: Settings) -> dict[str, Any]:
    personas = sorted(settings.personas)
    limit = settings.max_tokens_limit
    message = {
        "type": "object",
        "required": ["role", "content"],
        "additionalProperties": False,
        "properties": {
            "role": {"type": "string", "enum": ["user", "assistant"]},
            "content": {"type": "string"},
        },
    }
    chat_body = {
        "type": "object",
        "required": ["messages"],
        "additionalProperties": False,
        "properties": {
            "messages": {"type": "array", "items": message, "minItems": 1},
            "persona": {"type": "string", "enum": personas},
            "max_tokens": {"type": "integer", "minimum": 1, "maximum": limit},
        },
    }
    return {
        "/ask-ai": {
            "get": {
                "summary": "Stream an answer to one prompt (EventSource-compatible)",
                "operationId": "ask_ai",
                "parameters": [
                    {
                        "name": "prompt",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "persona",
                        "in": "query",
                        "schema": {"type": "string", "enum": personas},
                    },
                    {
                        "name": "max_tokens",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": limit},
                    },
                ],
                "responses": {"200": EVENT_STREAM, **_refusals(400, 401, 429, 503)},
            }
        },
        "/api/chat": {
            "post": {
                "summary": "Stream the next answer of a conversation",
                "operationId": "chat",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": chat_body}},
                },
                "responses": {"200": EVENT_STREAM, **_refusals(400, 401, 413, 415, 429, 503)},
            }
        },
    }


def install(api: FastAPI, settings: Settings) -> None:
    """Make `api.openapi()` include the streaming routes."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(
                title=api.title, version=api.version, summary=api.summary, routes=api.routes
            )
            schema["paths"] = {**stream_paths(settings), **schema["paths"]}
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
