"""Plan one answer: resolve its controls (defaults < scenario < headers < directive) and make the
pieces it will stream. Anything the mock cannot honour is an `InvalidRequest` (a 400 in the
request's own dialect)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ghoststream.protocols.dialect import FinishReason, GenerationRequest, InvalidRequest, ToolCall

from . import content, controls, directive, scenarios, tool_args
from .config import MockConfig, StreamPlan


def plan(
    config: MockConfig,
    request: GenerationRequest,
    headers: Mapping[str, str],
    known: list[scenarios.Scenario],
    api: str | None = None,
) -> tuple[StreamPlan, scenarios.Scenario | None]:
    """Resolve the schedule and content: defaults < scenario < headers < prompt directive;
    `api`, the route's dialect, which a recorded scenario must have been recorded from."""
    try:
        from_headers = controls.typed(controls.from_headers(headers))
        from_prompt = controls.typed(directive.parse(request.last_user_text))
    except controls.ControlError as error:
        raise InvalidRequest(str(error)) from None
    name = from_prompt.get("scenario", from_headers.get("scenario"))
    text = request.last_user_text
    scenario = scenarios.find(known, text, None if name is None else str(name), api)
    if name is not None and scenario is None:
        raise InvalidRequest(f"unknown mock scenario {name!r}")
    recorded = None if scenario is None else scenario.recording
    if api is not None and recorded is not None and recorded.api != api:
        raise InvalidRequest(f"mock scenario {name!r} was recorded from the {recorded.api} API")
    merged: dict[str, Any] = {
        c.name: getattr(config, c.name) for c in controls.CONTROLS.values() if c.server_wide
    }
    for layer in (scenario.controls if scenario else {}, from_headers, from_prompt):
        merged.update(layer)
    merged.pop("scenario", None)
    if merged.get("mode") == "fixed" and (scenario is None or scenario.text is None):
        raise InvalidRequest("mode=fixed needs a scenario with `text`")
    tool = merged.get("tool_call")
    if tool is not None:
        merged["tool_call"] = _tool_to_call(request, str(tool))
    return (
        StreamPlan(
            scenario=scenario.name if scenario else None,
            fixed_text=scenario.text if scenario else None,
            **merged,
        ),
        scenario,
    )


def _tool_to_call(request: GenerationRequest, asked: str) -> str:
    offered = [tool.name for tool in request.tools]
    if not offered:
        raise InvalidRequest("tool_call needs a request that offers tools")
    if request.tool_choice == "none":
        raise InvalidRequest("tool_call conflicts with tool_choice=none")
    if asked == "auto":
        return offered[0]
    if asked not in offered:
        raise InvalidRequest(f"tool_call={asked!r} is not among the tools offered")
    return asked


@dataclass
class Pieces:
    """What one answer streams: text pieces, then, if a tool is called, the call and its
    argument pieces. `count` pieces in all; `reason` is how the answer ends."""

    text: Iterator[str]
    call: ToolCall | None
    arguments: list[str]
    count: int
    reason: FinishReason


def pieces(
    request: GenerationRequest, stream_plan: StreamPlan, call_id: str | None = None
) -> Pieces:
    """The answer's pieces; a `max_tokens` below the natural length cuts it (`length`)."""
    if stream_plan.tool_call is not None:
        tool = next(t for t in request.tools if t.name == stream_plan.tool_call)
        arguments = tool_args.generate(tool.parameters, stream_plan.seed, request.digest)
        split = content.split_json(arguments)
        count = len(split) if request.max_tokens is None else min(len(split), request.max_tokens)
        call = ToolCall(call_id or "call_0", tool.name, arguments)
        reason: FinishReason = "tool_calls" if count == len(split) else "length"
        return Pieces(iter(()), call, split[:count], count, reason)
    if stream_plan.mode == "prose":
        natural = stream_plan.tokens
        source: Iterator[str] = content.prose(content.stream_seed(stream_plan.seed, request.digest))
    else:
        text = (
            stream_plan.fixed_text or ""
            if stream_plan.mode == "fixed"
            else directive.strip(request.last_user_text)
        )
        split = content.split_text(text)
        natural, source = len(split), iter(split)
    count = natural if request.max_tokens is None else min(natural, request.max_tokens)
    reason = "length" if count < natural else "stop"
    return Pieces(itertools.islice(source, count), None, [], count, reason)
