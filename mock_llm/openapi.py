"""The OpenAPI entries for the generation routes (`POST /v1/chat/completions`, `/v1/responses`,
`/v1/messages`, `/v1/completions`), which are plain ASGI and so invisible to FastAPI; the mock's
other routes are documented by FastAPI itself. The schemas are loose on purpose: the fuzzer
should reach the parsers with wrong types too, and find only 4xx."""

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


ANTHROPIC_ERROR = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
ANSWERS = {
    "application/json": {"schema": {"type": "object"}},
    "text/event-stream": {"schema": {"type": "string"}},
}
TEXT_OR_PARTS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}


def _operation(
    summary: str,
    operation_id: str,
    body: dict[str, Any],
    error: dict[str, Any],
    statuses: dict[str, str],
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    errors = {"content": {"application/json": {"schema": error}}}
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {
                "description": "The answer, or its events as Server-Sent Events.",
                "content": ANSWERS,
            },
            **{status: {"description": why, **errors} for status, why in statuses.items()},
        },
    }
    if parameters:
        operation["parameters"] = parameters
    return {"post": operation}


OPENAI_STATUSES = {
    "400": "Invalid request.",
    "401": "Wrong API key.",
    "429": "Rate limited (fault or --max-concurrency).",
    "500": "Injected fault `http_500`.",
    "503": "Injected fault `http_503`.",
}


def responses_path() -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "role": {"type": "string", "enum": ["user", "assistant", "system", "developer"]},
            "content": TEXT_OR_PARTS,
        },
    }
    body = {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"type": "string"},
            "input": {"anyOf": [{"type": "string"}, {"type": "array", "items": item}]},
            "instructions": {"type": ["string", "null"]},
            "stream": {"type": "boolean"},
            "max_output_tokens": {"type": "integer", "minimum": 16},
            "tools": {"type": "array", "items": {"type": "object"}},
            "tool_choice": {"anyOf": [{"type": "string"}, {"type": "object"}]},
        },
    }
    return _operation(
        "Create a response (streamed with `stream: true`)",
        "create_response",
        body,
        OPENAI_ERROR,
        OPENAI_STATUSES,
    )


def messages_path() -> dict[str, Any]:
    message = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"type": "string", "enum": ["user", "assistant"]},
            "content": TEXT_OR_PARTS,
        },
    }
    body = {
        "type": "object",
        "required": ["model", "max_tokens", "messages"],
        "properties": {
            "model": {"type": "string"},
            "max_tokens": {"type": "integer", "minimum": 1},
            "messages": {"type": "array", "items": message, "minItems": 1},
            "system": TEXT_OR_PARTS,
            "stream": {"type": "boolean"},
            "tools": {"type": "array", "items": {"type": "object"}},
            "tool_choice": {"type": "object"},
        },
    }
    version = {
        "name": "anthropic-version",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "enum": ["2023-06-01"]},
    }
    statuses = {**OPENAI_STATUSES, "529": "Injected fault `http_529`."}
    return _operation(
        "Create a message (Anthropic; streamed with `stream: true`)",
        "create_message",
        body,
        ANTHROPIC_ERROR,
        statuses,
        [version],
    )


def completions_path() -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["model", "prompt"],
        "properties": {
            "model": {"type": "string"},
            "prompt": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "stream": {"type": "boolean"},
            "stream_options": {
                "type": "object",
                "properties": {"include_usage": {"type": "boolean"}},
            },
            "max_tokens": {"type": "integer", "minimum": 1},
            "n": {"type": "integer", "enum": [1]},
        },
    }
    return _operation(
        "Create a legacy completion (streamed with `stream: true`)",
        "create_completion",
        body,
        OPENAI_ERROR,
        OPENAI_STATUSES,
    )


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
    return _operation(
        "Create a chat completion (streamed with `stream: true`)",
        "create_chat_completion",
        body,
        OPENAI_ERROR,
        OPENAI_STATUSES,
    )


def install(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(
                title=api.title, version=api.version, summary=api.summary, routes=api.routes
            )
            schema["paths"] = {
                "/v1/chat/completions": chat_path(),
                "/v1/responses": responses_path(),
                "/v1/messages": messages_path(),
                "/v1/completions": completions_path(),
                **schema["paths"],
            }
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
