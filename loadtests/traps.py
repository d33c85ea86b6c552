"""The measuring traps, kept only to be measured against (tests/loadtests/test_load_traps.py).

    locust -f loadtests/traps.py --host http://127.0.0.1:8000 --headless -u 6 -t 10s

`IterLinesUser` reads the same stream the way Locust's own API offers: `FastHttpSession.iter_lines`
over `stream=True`. Locust's entry for that request (`GET iter_lines`) is timed when the
headers arrive (with the first event, from this service), not when the answer ends; and the
lines come out of 1 KiB blocks, so the first token is seen only once a KiB of events has piled
up. `OurReaderUser` reads the same stream with our reader for
comparison, and `RoundingUser` asks for a TTFT of 1,040 ms, which Locust's histogram files
under 1,000 ms while the raw records keep it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locust import FastHttpUser, constant, task

from ghoststream.harness.records import StreamRecord, StreamRecorder
from ghoststream.load.users import QUESTION, StreamUser
from mock_llm.directive import directive


class IterLinesUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def ask(self) -> None:
        prompt = f"{directive(ttft_ms=200, itl_ms=20, tokens=50)} {QUESTION}"
        record = StreamRecord(started_at=time.perf_counter())
        recorder = StreamRecorder(record, "ghoststream")
        lines = self.client.iter_lines("/ask-ai", params={"prompt": prompt}, name="iter_lines")
        for text in lines:  # read to the body's end, so the pooled connection stays clean
            recorder.feed(text.encode() + b"\n", time.perf_counter())
        recorder.finish(time.perf_counter())
        if record.ttft is not None:
            self.environment.events.request.fire(
                request_type="iter_lines",
                name="TTFT",
                response_time=record.ttft * 1000.0,
                response_length=0,
                exception=None,
                context={},
            )


class OurReaderUser(StreamUser):
    scenario = "our_reader"
    route = "ask"

    @task
    def read(self) -> None:
        self.ask(ttft_ms=200, itl_ms=20, tokens=50)


class RoundingUser(StreamUser):
    scenario = "rounding"
    route = "ask"

    @task
    def read(self) -> None:
        self.ask(ttft_ms=1040, itl_ms=10, tokens=5)
