"""`StreamUser`: the base of every scenario. One task opens one stream and reports it three ways.

To Locust's statistics, under the scenario's name as the request type: `TTFT` (fired at the first
token, so it shows while long streams are still running), `ITL` (the stream's own median gap, one
sample per stream) and `stream` (the whole duration; failures land here). Locust's own entry for
a streamed request would time the response headers only, not the answer; hence these entries and
no `self.client`.

As one raw line (`outcome.line`) to the collector, for the JSONL file and the exact summary.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import gevent
from gevent import GreenletExit
from locust import User, constant

from ghoststream.harness.client import api_request, chat_body
from ghoststream.harness.records import StreamRecord
from ghoststream.load import hooks
from ghoststream.load.collector import COLLECTOR
from ghoststream.load.outcome import Expectation, failure, line, median_gap_ms
from ghoststream.load.stream_client import StreamRequest, read_stream
from ghoststream.mock import directive
from ghoststream.protocols import DIALECTS

QUESTION = "How do Server-Sent Events keep a stream open?"
REFUSALS = frozenset({429, 503})
"""Statuses that ask the client to come back later (with `Retry-After`)."""


class StreamFailure(Exception):
    """A stream that did not do what its scenario asked (the message says how)."""


class StreamUser(User):
    abstract = True
    default = False
    """Marks the class that runs when no user class is named on the command line."""
    scenario = "stream"
    route = "chat"
    """Your service's path (`/chat`: `body(prompt)` POSTed as JSON, read in `format`), or one of
    ghoststream's: `chat` POST /api/chat, `ask` GET /ask-ai (both the service's SSE), `openai`
    the mock's own API in the dialect `--api`, `raw` GET /ask-ai of the naive relay."""
    format: str | None = None
    """With a path `route`: its stream format by name (`ghoststream.protocols.FORMATS`, see
    `register_format`); None reads `--format` (default `ghoststream`)."""
    wait_time = constant(0)
    retry_default_s = 1.0
    """The wait after a refusal that names none."""
    retry_max_s = 60.0
    """The longest wait a refusal may ask for."""
    resume_at = 0.0
    """`perf_counter()` before which this user starts no stream: a refusal's Retry-After."""

    def opt(self, name: str, default: Any) -> Any:
        return hooks.option(self.environment, name, default)

    def on_start(self) -> None:
        """Start out of phase: users spawned together and never waiting between streams would
        otherwise open their streams in lockstep, a burst every stream-length that real
        traffic does not have."""
        gevent.sleep(random.uniform(0.0, float(self.opt("start_spread_s", 1.0))))

    def ask(
        self,
        expect: Expectation = Expectation(),
        *,
        scheduled_at: float | None = None,
        live_ttft: bool = True,
        **overrides: float | str,
    ) -> StreamRecord:
        """One stream of the question, with a mock directive: the schedule from the options
        plus `overrides`; bounded by `--stream-timeout-s`, or if that is 0 by twice the
        schedule's length plus 35 s (past the service's own 30 s first-token and idle limits)."""
        settings: dict[str, float | str] = {
            "ttft_ms": self.opt("ttft_ms", 200.0),
            "itl_ms": self.opt("itl_ms", 20.0),
            "tokens": self.opt("tokens", 50),
            **overrides,
        }
        bound = float(self.opt("stream_timeout_s", 0.0))
        if bound <= 0:
            ttft, itl, tokens = (float(settings[key]) for key in ("ttft_ms", "itl_ms", "tokens"))
            bound = 2.0 * (ttft + tokens * itl) / 1000.0 + 35.0
        prompt = f"{directive(**settings)} {QUESTION}"
        return self.stream(
            prompt, expect, timeout_s=bound, scheduled_at=scheduled_at, live_ttft=live_ttft
        )

    def base_url(self) -> str:
        return (self.host or "").rstrip("/")

    def body(self, prompt: str) -> Any:
        """The JSON a path `route` is POSTed: override it with what your service takes."""
        return chat_body(prompt)

    def request(self, prompt: str, expect: Expectation, timeout_s: float) -> StreamRequest:
        base = self.base_url()
        key = str(self.opt("api_key", "") or "")
        common: dict[str, Any] = {
            "abort_after_tokens": expect.abort_after_tokens,
            "timeout_s": timeout_s,
            "headers": {"Authorization": f"Bearer {key}"} if key else {},
        }
        if self.route.startswith("/"):
            body = json.dumps(self.body(prompt)).encode()
            dialect = self.format or str(self.opt("format", "ghoststream"))
            return StreamRequest(
                f"{base}{self.route}", "POST", body=body, dialect=dialect, **common
            )
        if self.route == "chat":
            body = json.dumps(chat_body(prompt)).encode()
            return StreamRequest(f"{base}/api/chat", "POST", body=body, **common)
        if self.route == "openai":
            name = str(self.opt("api", "chat"))
            api = api_request(name, DIALECTS[name].base_url(base), prompt)
            common["headers"] = {**common["headers"], **api.headers}
            body = json.dumps(api.body).encode()
            return StreamRequest(api.url, "POST", body=body, dialect=api.dialect, **common)
        dialect = "raw" if self.route == "raw" else "ghoststream"
        params = {"prompt": prompt}
        return StreamRequest(f"{base}/ask-ai", "GET", params=params, dialect=dialect, **common)

    def stream(
        self,
        prompt: str,
        expect: Expectation = Expectation(),
        *,
        timeout_s: float = 60.0,
        scheduled_at: float | None = None,
        live_ttft: bool = True,
    ) -> StreamRecord:
        """Run one stream to its end and report it; `scheduled_at` (perf_counter) is when an
        open-loop schedule wanted it to start. Waits first while a refusal's Retry-After runs
        (`back_off`)."""
        gevent.sleep(max(0.0, self.resume_at - time.perf_counter()))
        request = self.request(prompt, expect, timeout_s)
        started_wall = time.time()
        record = StreamRecord(started_at=time.perf_counter())
        delay = 0.0 if scheduled_at is None else max(0.0, record.started_at - scheduled_at)

        def first_token(record: StreamRecord) -> None:
            if live_ttft and record.ttft is not None:
                self.fire("TTFT", record.ttft * 1000.0, started_wall)
                if scheduled_at is not None:
                    self.fire("scheduled TTFT", (record.ttft + delay) * 1000.0, started_wall)

        def keep(reason: str | None, stopped: bool = False) -> None:
            raw = line(
                record,
                scenario=self.scenario,
                user=type(self).__name__,
                source=hooks.source_id(),
                started_wall=started_wall,
                expect=expect,
                reason=reason,
                stopped=stopped,
                scheduled_delay_s=delay,
            )
            if hooks.is_collecting(self.environment.runner):
                COLLECTOR.add([raw])
            else:
                COLLECTOR.outbox.append(raw)

        COLLECTOR.opened()
        try:
            read_stream(request, record, on_first_token=first_token)
        except GreenletExit:  # the test is ending: not the service's doing, so not reported
            if record.ended_at is None:  # its line says how long it was open when cut
                record.ended_at = time.perf_counter()
            keep(None, stopped=True)
            raise
        finally:
            COLLECTOR.closed()
        reason = failure(record, expect)
        duration = (record.duration or 0.0) * 1000.0
        name = f"fault {expect.fault}" if expect.fault is not None else "stream"
        self.fire(name, duration, started_wall, reason, record.tokens)
        gap = median_gap_ms(record)
        if reason is None and gap is not None and expect.fault is None:
            self.fire("ITL", gap, started_wall)
        keep(reason)
        self.back_off(record)
        return record

    def back_off(self, record: StreamRecord) -> None:
        """After a 429 or 503, no new stream before what the target asked (Retry-After,
        bounded): `stream` waits it out, an open-loop schedule skips the arrivals it covers.
        Asking again at once would send a target that refuses about a thousand refusals a
        second, a measure of how fast the generator hears no. The refusal stays a failure."""
        if record.status not in REFUSALS:
            return
        asked = record.retry_after
        wait = min(self.retry_default_s if asked is None else asked, self.retry_max_s)
        self.resume_at = max(self.resume_at, time.perf_counter() + wait)

    def fire(
        self,
        name: str,
        response_time_ms: float,
        start_time: float,
        reason: str | None = None,
        length: int = 0,
    ) -> None:
        self.environment.events.request.fire(
            request_type=self.scenario,
            name=name,
            response_time=response_time_ms,
            response_length=length,
            exception=StreamFailure(reason) if reason is not None else None,
            context={},
            start_time=start_time,
            url=self.base_url(),
        )
