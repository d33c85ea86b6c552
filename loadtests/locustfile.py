"""ghoststream load scenarios. With no user class named, only SteadyChatUser runs.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000            # web UI, steady chat
    locust -f loadtests/locustfile.py --host ... --headless -u 50 -t 30s HoldOpenUser
    locust -f loadtests/locustfile.py,loadtests/step_shape.py --host ... --headless   # capacity

`python -m loadtests` starts the mock and the service and runs this for you. Every user reports
`TTFT`, `ITL` and `stream` entries under its scenario's name, and one raw JSON line per stream
(`--records`); see `users.py`. The mock's schedule is asked for in each prompt (`--ttft-ms`,
`--itl-ms`, `--tokens`), so the mock's own defaults do not matter.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

# Locust imports this file by path; make the repository importable wherever it is run from.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent
from gevent.pool import Group
from locust import run_single_user, task

from ghoststream.load.outcome import Expectation
from ghoststream.load.users import StreamUser


class SteadyChatUser(StreamUser):
    """The default: a chat user asking one question after another (POST /api/chat)."""

    default = True
    scenario = "steady_chat"
    route = "chat"

    @task
    def chat(self) -> None:
        self.ask()


class HoldOpenUser(StreamUser):
    """Slow, long streams (`--hold-itl-ms`, default 1 s a token): how many open streams the
    service holds at once. GET /ask-ai, as a browser's EventSource would."""

    scenario = "hold_open"
    route = "ask"

    @task
    def hold(self) -> None:
        self.ask(itl_ms=self.opt("hold_itl_ms", 1000.0), tokens=self.opt("hold_tokens", 30))


class CancelStormUser(StreamUser):
    """Closes every stream after `--abort-after` tokens, like a closed tab. With `--mock-url`,
    the run ends with a check: the mock's cancelled count equals the aborts."""

    scenario = "cancel_storm"
    route = "ask"

    @task
    def abort(self) -> None:
        self.ask(Expectation(abort_after_tokens=self.opt("abort_after", 5)))


class FaultMixUser(StreamUser):
    """Injects mock faults (`--faults`) into `--fault-rate` of the streams. Each must end in its
    documented `event: error` code (outcome.FAULT_CODES) within `--stream-timeout-s`; a wrong
    code or a hang is a failure, so a healthy service fails nothing here either."""

    scenario = "fault_mix"
    route = "chat"

    @task
    def maybe_fault(self) -> None:
        faults = [name for name in str(self.opt("faults", "")).split(",") if name]
        if faults and random.random() < float(self.opt("fault_rate", 0.5)):
            fault = random.choice(faults)
            expect = Expectation(fault=fault)
            self.ask(expect, live_ttft=False, fault=fault, fault_after=3, retry_after_ms=50)
        else:
            self.ask()


class DirectUser(StreamUser):
    """Straight at the mock's OpenAI API (`--mock-url`, else `--host`): the same load without the
    service, to show the mock is not the bottleneck."""

    scenario = "direct"
    route = "openai"

    def base_url(self) -> str:
        return str(self.opt("mock_url", "") or super().base_url()).rstrip("/")

    @task
    def chat(self) -> None:
        self.ask()


class NaiveRelayUser(StreamUser):
    """The tutorial relay (`python -m benchmarks.naive_relay`): GET /ask-ai, raw text, where each
    read counts as a token and the body's end as done."""

    scenario = "naive"
    route = "raw"

    @task
    def relay(self) -> None:
        self.ask()


class OpenLoopUser(StreamUser):
    """Open loop: each user is an arrival process starting `--arrival-rate` streams a second on a
    fixed schedule, each in its own greenlet, whether or not earlier ones have finished. Latency
    is also reported from the scheduled start (`scheduled TTFT`), so a stalled service or load
    generator cannot hide its backlog (coordinated omission), as a closed loop would."""

    scenario = "open_loop"
    route = "ask"

    def on_start(self) -> None:  # no spread here: each arrival schedule has its own phase
        self.streams = Group()

    def on_stop(self) -> None:
        self.streams.kill(block=True)

    @task
    def arrivals(self) -> None:
        period = 1.0 / float(self.opt("arrival_rate", 5.0))
        first = time.perf_counter() + random.uniform(0.0, period)  # users out of phase
        for k in range(sys.maxsize):
            due = first + k * period
            gevent.sleep(max(0.0, due - time.perf_counter()))
            if due >= self.resume_at:  # arrivals due while a refusal's Retry-After runs: skipped
                self.streams.spawn(self.ask, scheduled_at=due)


if __name__ == "__main__":  # one user in the debugger: python loadtests/locustfile.py --host ...
    run_single_user(SteadyChatUser)
