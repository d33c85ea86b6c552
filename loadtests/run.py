"""`python -m loadtests`: start the mock and what it is to be measured through, run Locust on it.

Servers are real processes on ephemeral loopback ports (`ghoststream.harness.servers`); Locust
runs as a child process too, so its gevent monkey-patching stays out of this one. Options this
script does not know are passed to Locust, e.g. `--ttft-ms 300` or `--step-users 100`.

    python -m loadtests                                   # steady chat, 50 users, 30 s
    python -m loadtests --scenario hold_open -u 1000 -r 200 -t 60s
    python -m loadtests --scenario steady_chat --step --step-users 50
    python -m loadtests --target http://host:8000 --mock-url http://host:8001
    python -m loadtests --workers 2                       # a master and two worker processes
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ghoststream.harness.servers import LOOPBACK, free_port, serve_in_process
from ghoststream.load.options import listing
from ghoststream.load.saturation import INVALID_EXIT_CODE as INVALID

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
STEP_SHAPE = HERE / "step_shape.py"
FAKE_KEY = "sk-load-not-a-real-key"
SERVICE_ENV = {
    # Every Locust user comes from 127.0.0.1, which the service counts as one client: lift the
    # per-client and global stream limits and the request rate, or they are what gets measured.
    "GHOSTSTREAM_MAX_STREAMS": "1000000",
    "GHOSTSTREAM_MAX_STREAMS_PER_CLIENT": "1000000",
    "GHOSTSTREAM_MAX_CONNECTIONS_PER_CLIENT": "0",
    "GHOSTSTREAM_RATE_PER_CLIENT_S": "0",
}


@dataclass(frozen=True)
class Scenario:
    user: str
    target: str
    """What Locust's --host is: `service`, `mock` (its OpenAI API) or `naive` (the naive relay)."""
    about: str
    service_env: Mapping[str, str] = field(default_factory=dict)
    locust_args: tuple[str, ...] = ()
    mock_args: tuple[str, ...] = ()
    """The mock's own flags, e.g. an engine profile."""


SCENARIOS: dict[str, Scenario] = {
    "steady_chat": Scenario("SteadyChatUser", "service", "chat users, one question after another"),
    "hold_open": Scenario("HoldOpenUser", "service", "slow long streams (1 s a token)"),
    "cancel_storm": Scenario(
        "CancelStormUser",
        "service",
        "abort after K tokens; the mock must count each as cancelled",
        locust_args=("--stop-timeout", "10"),
    ),
    "fault_mix": Scenario(
        "FaultMixUser",
        "service",
        "mock faults; each must end in its documented error code",
        # A stalled upstream surfaces after the service's idle timeout: 2 s here, not 30 s.
        service_env={"GHOSTSTREAM_IDLE_TIMEOUT_S": "2"},
        locust_args=("--stream-timeout-s", "15", "--stop-timeout", "20"),
    ),
    "direct": Scenario("DirectUser", "mock", "straight at the mock: is the mock the bottleneck?"),
    "open_loop": Scenario("OpenLoopUser", "service", "fixed arrival rate, latency from schedule"),
    "naive": Scenario("NaiveRelayUser", "naive", "the naive relay (benchmarks.naive_relay)"),
    "engine": Scenario(
        "SteadyChatUser",
        "service",
        "chat users against a loaded model server (the mock's 8b-h100 engine profile)",
        # Admission and the first-token deadline low enough to show where they start to act.
        service_env={"GHOSTSTREAM_MAX_STREAMS": "48", "GHOSTSTREAM_FIRST_TOKEN_TIMEOUT_S": "3"},
        mock_args=("--profile", "8b-h100"),
    ),
}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, and the epilog's lists kept one item a line."""


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    scenarios = [f"  {name:<14}{s.user}: {s.about}" for name, s in SCENARIOS.items()]
    parser = argparse.ArgumentParser(
        prog="python -m loadtests",
        allow_abbrev=False,  # anything not spelled out is Locust's
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=_HelpFormatter,
        epilog="\n".join(
            [
                "scenarios:",
                *scenarios,
                "",
                "passed on to Locust (ghoststream.load.options), with any of Locust's own:",
                *listing(),
            ]
        ),
    )
    parser.add_argument("--scenario", choices=SCENARIOS, default="steady_chat", help="see below")
    parser.add_argument("-f", "--locustfile", default=str(LOCUSTFILE), help="another locustfile")
    parser.add_argument(
        "--user-class", nargs="+", default=None, help="class names instead of the scenario's"
    )
    parser.add_argument("-u", "--users", type=int, default=50, help="Locust users")
    parser.add_argument("-r", "--spawn-rate", type=float, default=10.0, help="users started/s")
    parser.add_argument("-t", "--run-time", default="30s", help="how long, e.g. 90s, 5m")
    parser.add_argument("--step", action="store_true", help="step users up until the SLO breaks")
    parser.add_argument("--target", default=None, help="an existing service's URL: start nothing")
    parser.add_argument("--mock-url", default=None, help="with --target: its mock, for evidence")
    parser.add_argument("--processes", type=int, default=0, help="Locust --processes N")
    parser.add_argument("--workers", type=int, default=0, help="a master and N worker processes")
    parser.add_argument("--out", default="reports/load", help="CSV, HTML and JSONL go here")
    parser.add_argument("--name", default=None, help="report file prefix; unset: the scenario")
    parser.add_argument("--web", action="store_true", help="Locust's web UI instead of headless")
    return parser.parse_known_args(argv)


def raise_fd_limit() -> tuple[int, int]:
    """Raise the open-files soft limit to the hard limit (children inherit it); (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):  # macOS caps below an unlimited hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


@contextlib.contextmanager
def servers(scenario: Scenario) -> Iterator[tuple[str, str]]:
    """(Locust's host, the mock's URL), each server a child process stopped on exit."""
    with serve_in_process("mock_llm", ["--log-level", "warning", *scenario.mock_args]) as mock:
        upstream = {
            "OPENAI_BASE_URL": f"{mock.url}/v1",
            "OPENAI_API_KEY": FAKE_KEY,
            "LOG_LEVEL": "warning",
        }
        if scenario.target == "mock":
            yield mock.url, mock.url
        elif scenario.target == "naive":
            with serve_in_process("benchmarks.naive_relay", env=upstream) as naive:
                yield naive.url, mock.url
        else:
            env = {**upstream, **SERVICE_ENV, **scenario.service_env}
            with serve_in_process("service", env=env) as service:
                yield service.url, mock.url


def locustfiles(args: argparse.Namespace) -> str:
    return f"{args.locustfile},{STEP_SHAPE}" if args.step else str(args.locustfile)


def locust_command(
    args: argparse.Namespace,
    scenario: Scenario,
    host: str,
    mock_url: str,
    extra: Sequence[str],
    role: Sequence[str] = (),
) -> list[str]:
    prefix = Path(args.out) / (args.name or args.scenario)
    command = [sys.executable, "-m", "locust", "-f", locustfiles(args), "--host", host, *role]
    command += ["--csv", str(prefix), "--html", f"{prefix}.html", "--records", f"{prefix}.jsonl"]
    if mock_url:
        command += ["--mock-url", mock_url]
    if args.web:
        command += ["--web-host", LOOPBACK]
    else:
        command += ["--headless"]
    if not args.step:
        command += ["-u", str(args.users), "-r", str(args.spawn_rate)]
        if not args.web:
            command += ["-t", args.run_time]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.user_class:
        classes = list(args.user_class)
    else:  # another locustfile runs its own classes unless some are named
        classes = [scenario.user] if Path(args.locustfile) == LOCUSTFILE else []
    return [*command, *scenario.locust_args, *extra, *classes]


def wait_for(lead: subprocess.Popen[bytes], others: Sequence[subprocess.Popen[bytes]] = ()) -> int:
    """Wait for Locust (or its master) to finish writing its reports, then for the others.

    SIGTERM is passed on to all of them, and a Ctrl-C (which Locust receives too) waits for
    Locust to shut down; a second Ctrl-C stops waiting.
    """
    everyone = [lead, *others]

    def forward(signum: int, frame: object) -> None:
        for process in everyone:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    interrupted = False
    try:
        while True:
            try:
                code = lead.wait()
                break
            except KeyboardInterrupt:
                if interrupted:
                    forward(signal.SIGTERM, None)
                    raise
                interrupted = True
        for process in others:  # workers quit when their master does; make sure of it
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_distributed(master: list[str], files: str, port: int, workers: int) -> int:
    """`master` (a command with --master) plus `workers` worker processes on loopback."""
    worker = [sys.executable, "-m", "locust", "-f", files, "--worker"]
    worker += ["--master-host", LOOPBACK, "--master-port", str(port)]
    lead = subprocess.Popen(master)
    return wait_for(lead, [subprocess.Popen(worker) for _ in range(workers)])


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    soft, hard = raise_fd_limit()
    print(f"loadtests: open-files limit {soft} (hard {hard}); see the README if streams fail")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if args.target:
            host, mock_url = args.target.rstrip("/"), (args.mock_url or "").rstrip("/")
        else:
            host, mock_url = stack.enter_context(servers(scenario))
        if args.user_class or Path(args.locustfile) != LOCUSTFILE:
            what = " ".join(args.user_class or [Path(args.locustfile).name])
        else:
            what = f"{args.scenario} ({scenario.user})"
        print(f"loadtests: {what} against {host}", flush=True)
        if args.workers:
            port = free_port()
            role = ["--master", "--master-bind-host", LOOPBACK, "--master-bind-port", str(port)]
            role += ["--expect-workers", str(args.workers), "--expect-workers-max-wait", "60"]
            master = locust_command(args, scenario, host, mock_url, extra, role)
            code = run_distributed(master, locustfiles(args), port, args.workers)
        else:
            code = wait_for(subprocess.Popen(locust_command(args, scenario, host, mock_url, extra)))
    prefix = args.name or args.scenario
    written = sorted(p.name for p in Path(args.out).glob(f"{prefix}*"))
    meaning = " (figures invalid: the load generator was saturated)" if code == INVALID else ""
    print(f"loadtests: exit code {code}{meaning}; in {args.out}: {', '.join(written)}")
    return code
