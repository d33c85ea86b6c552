"""Locust wiring: options, the default user class, raw lines to the master, live figures, summary.

Imported by `users.py`, so every locustfile built on `StreamUser` gets it once. Options are plain
Locust command-line options (also shown in the web UI and passed from a master to its workers).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import urllib.request
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, Runner, WorkerRunner

from ghoststream.gc_tuning import tune_for_many_streams
from ghoststream.load.collector import COLLECTOR
from ghoststream.load.options import OPTIONS
from ghoststream.load.saturation import INVALID_EXIT_CODE, Limits, judge
from ghoststream.load.summary import peak_open, render, render_steps, summarize

log = logging.getLogger("ghoststream.load")
REPORT_KEY = "ghoststream"
UI_RECENT = 2000
"""The web UI's Streams tab summarizes the most recent streams only: it is polled every 2 s."""
_summary_due = False
CPU_EVERY_S = 1.0


@events.init_command_line_parser.add_listener
def add_options(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("ghoststream", "Stream schedule, scenarios and evidence")
    for flag, spec in OPTIONS:
        if spec.get("is_secret"):  # on the parser itself: only it knows is_secret (UI masking)
            parser.add_argument(flag, **spec)
        else:
            group.add_argument(flag, **spec)


def option(environment: Environment, name: str, default: Any) -> Any:
    options = environment.parsed_options
    return getattr(options, name, default) if options is not None else default


def is_collecting(runner: Runner | None) -> bool:
    """Local and master runners collect lines; workers ship theirs."""
    return runner is not None and not isinstance(runner, WorkerRunner)


def mock_call(base: str, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
    request = urllib.request.Request(f"{base.rstrip('/')}{path}", method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@events.init.add_listener
def on_init(environment: Environment, runner: Runner | None = None, **_: Any) -> None:
    choose_default_users(environment, runner)
    if isinstance(runner, WorkerRunner):
        events.report_to_master.add_listener(ship_lines)
    if isinstance(runner, MasterRunner):
        events.worker_report.add_listener(receive_lines)
    if is_collecting(runner):
        gevent.spawn(live_figures, environment)
    if runner is not None and not isinstance(runner, MasterRunner):
        gevent.spawn(watch_cpu, runner)
    web_ui = getattr(environment, "web_ui", None)
    if web_ui is not None:
        extend_web_ui(environment, web_ui)


def choose_default_users(environment: Environment, runner: Runner | None) -> None:
    """Locust runs every User class in a locustfile unless some are named on the command line;
    here, with none named, only the classes marked `default = True` run (if any are)."""
    options = environment.parsed_options
    if runner is None or isinstance(runner, WorkerRunner) or options is None:
        return
    if getattr(options, "user_classes", None) or getattr(options, "class_picker", False):
        return
    defaults = [cls for cls in environment.user_classes if getattr(cls, "default", False)]
    if defaults:
        environment.user_classes[:] = defaults


def ship_lines(client_id: str, data: dict[str, Any]) -> None:
    data[REPORT_KEY] = {
        "lines": COLLECTOR.outbox,
        "open": COLLECTOR.open_here,
        "pid": source_id(),
        "cpu": COLLECTOR.cpu_outbox,
    }
    COLLECTOR.outbox = []
    COLLECTOR.cpu_outbox = []


def receive_lines(client_id: str, data: dict[str, Any]) -> None:
    report = data.get(REPORT_KEY)
    if report:
        COLLECTOR.add(report["lines"])
        COLLECTOR.open_remote[client_id] = report["open"]
        COLLECTOR.cpu.setdefault(str(report["pid"]), []).extend(report["cpu"])


def watch_cpu(runner: Runner) -> None:
    """Sample this process's CPU every second while users run: the evidence, judged at the end
    (`saturation.py`), of a generator too busy to read its streams on time."""
    process = psutil.Process()
    process.cpu_percent()  # the first reading only starts the interval
    source = str(source_id())
    while True:
        gevent.sleep(CPU_EVERY_S)
        percent = float(process.cpu_percent())
        if runner.state not in (STATE_SPAWNING, STATE_RUNNING):
            continue
        if isinstance(runner, WorkerRunner):
            COLLECTOR.cpu_outbox.append(percent)
        else:
            COLLECTOR.cpu.setdefault(source, []).append(percent)


@events.spawning_complete.add_listener
def on_spawned(user_count: int, **_: Any) -> None:
    """Move what exists now (users, greenlets, sockets) out of the collector's way: a full
    collection over thousands of users stalls every stream at once for ~100 ms, which the
    records would show as the service's latency."""
    gc.collect()
    tune_for_many_streams()  # freeze, and make later full collections rare


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    if not is_collecting(environment.runner):
        return
    COLLECTOR.begin(option(environment, "records", "") or None)
    COLLECTOR.open_remote.clear()
    mock_url = option(environment, "mock_url", "")
    if mock_url:
        mock_call(mock_url, "/mock/reset", method="POST")  # its counters are this test's


def service_open_streams(host: str) -> int | None:
    """The service's own count (its `ghoststream_open_streams` metric); None if not there."""
    request = urllib.request.Request(f"{host.rstrip('/')}/metrics")
    with urllib.request.urlopen(request, timeout=2.0) as response:
        for text in response.read().decode().splitlines():
            if text.startswith("ghoststream_open_streams "):
                return int(float(text.split()[1]))
    return None


def live_figures(environment: Environment) -> None:
    """Log the open-streams figure every `--live-every` seconds while users run: as the clients
    count them, and where they can be asked, as the service and the mock count them."""
    every = float(option(environment, "live_every", 5.0))
    mock_url = option(environment, "mock_url", "")
    runner = environment.runner
    ask_service = True
    while every > 0 and runner is not None:
        gevent.sleep(every)
        if runner.state not in (STATE_SPAWNING, STATE_RUNNING):
            continue
        service_open = mock_open = None
        if ask_service and environment.host:
            try:
                service_open = service_open_streams(environment.host)
            except (OSError, ValueError):
                ask_service = False  # not the service (the mock, the naive relay) or no access
        if mock_url:
            try:
                mock_open = int(mock_call(mock_url, "/mock/stats", timeout=2.0)["open"])
            except (OSError, ValueError, KeyError):
                mock_open = None
        open_now = COLLECTOR.sample(runner.user_count, service_open, mock_open)
        others = []
        if service_open is not None:
            others.append(f"the service counts {service_open}")
        if mock_open is not None:
            others.append(f"the mock {mock_open} upstream")
        suffix = f" ({', '.join(others)})" if others else ""
        log.info("open streams: %d held by %d users%s", open_now, runner.user_count, suffix)


@events.test_stop.add_listener
def on_test_stop(environment: Environment, **_: Any) -> None:
    if is_collecting(environment.runner) and not option(environment, "headless", False):
        finish(environment)
        print_summary()


@events.quitting.add_listener
def on_quitting(environment: Environment, **_: Any) -> None:
    """Headless: the last worker reports are in by now (the master waits for them)."""
    global _summary_due
    if is_collecting(environment.runner) and option(environment, "headless", False):
        finish(environment)
        _summary_due = True
        if COLLECTOR.check_failed:
            environment.process_exit_code = 1
        if COLLECTOR.invalid:
            environment.process_exit_code = INVALID_EXIT_CODE


@events.quit.add_listener
def on_quit(exit_code: int, **_: Any) -> None:
    """Headless: printed last, after Locust's own (bucketed) tables."""
    if _summary_due:
        print_summary()


def finish(environment: Environment) -> None:
    """Close the JSONL, run the evidence checks, judge the generator, write the summary JSON and
    the series and generator CSVs."""
    COLLECTOR.end()
    mock_url = option(environment, "mock_url", "")
    if mock_url:
        cancel_check(mock_url)
    if "steps" in COLLECTOR.results:
        COLLECTOR.notes[:0] = render_steps(COLLECTOR.results["steps"], COLLECTOR.lines)
    limits = Limits(
        max_cpu_percent=float(option(environment, "max_generator_cpu", Limits.max_cpu_percent)),
        max_coalesced=float(option(environment, "max_coalesced", Limits.max_coalesced)),
    )
    verdict = judge(COLLECTOR.cpu, COLLECTOR.lines, limits)
    COLLECTOR.invalid = not verdict.valid
    if COLLECTOR.invalid:
        COLLECTOR.notes.insert(0, verdict.message())
    path = COLLECTOR.records_path
    if path is None:
        return
    stem = path.with_suffix("")
    verdict.write_csv(Path(f"{stem}_generator.csv"))
    summaries = summarize(COLLECTOR.lines)
    document = {
        "records": path.name,
        "valid": verdict.valid,
        "generator": verdict.as_dict(),
        "scenarios": {name: s.as_dict() for name, s in summaries.items()},
        "open_streams_peak": peak_open(COLLECTOR.lines),
        "open_streams_peak_sampled": COLLECTOR.peak(),
        "notes": COLLECTOR.notes,
        "check_failed": COLLECTOR.check_failed,
        **COLLECTOR.results,
    }
    Path(f"{stem}_summary.json").write_text(json.dumps(document, indent=2) + "\n")
    COLLECTOR.write_series(Path(f"{stem}_open_streams.csv"))


def cancel_check(mock_url: str) -> None:
    """Every stream a client closed must show up at the mock as a cancelled upstream stream.

    Counted: aborts the scenario asked for, streams cut off by the test ending, and streams the
    service itself gave up on after an upstream stall (its idle timeout closes the upstream).
    """
    lines = [line for line in COLLECTOR.lines if line["scenario"] == "cancel_storm"]
    if not lines:
        return
    aborted = sum(1 for line in COLLECTOR.lines if line["aborted"] and not line["stopped"])
    stopped = sum(1 for line in COLLECTOR.lines if line["stopped"])
    stalls = sum(1 for line in COLLECTOR.lines if line["fault"] == "stall_midstream")
    try:
        mock_call(mock_url, "/mock/requests?wait_until_closed=15", timeout=30.0)
        stats = mock_call(mock_url, "/mock/stats")
    except OSError as error:
        COLLECTOR.note(f"cancel check: could not read the mock's stats ({error})", failed=True)
        return
    expected = aborted + stopped + stalls
    cancelled = int(stats["cancelled"])
    ok = cancelled == expected and stats["open"] == 0
    COLLECTOR.results["cancel_check"] = {
        "mock_cancelled": cancelled,
        "client_aborts": aborted,
        "stopped_by_test_end": stopped,
        "service_idle_timeouts": stalls,
        "mock_open": stats["open"],
        "passed": ok,
    }
    verdict = "OK" if ok else "MISMATCH"
    COLLECTOR.note(
        f"cancel check {verdict}: mock cancelled {cancelled}, client aborts {aborted}"
        f" + cut off by the test's end {stopped} + upstream stalls {stalls} = {expected};"
        f" still open at the mock: {stats['open']}",
        failed=not ok,
    )


def print_summary() -> None:
    lines = ["", "ghoststream raw per-stream summary (exact samples, not Locust's buckets)"]
    if COLLECTOR.records_path is not None:
        lines.append(f"records: {COLLECTOR.records_path}")
    lines.extend(render(summarize(COLLECTOR.lines)))
    sampled = COLLECTOR.peak()
    live = "" if sampled is None else f"; the live samples, every few seconds, saw {sampled}"
    lines.append(f"open streams: peak {peak_open(COLLECTOR.lines)} (from the records{live})")
    lines.extend(COLLECTOR.notes)
    print("\n".join(lines), flush=True)


def source_id() -> int:
    """Which process recorded a line (the pid), so a distributed run shows every worker's share."""
    return os.getpid()


def extend_web_ui(environment: Environment, web_ui: Any) -> None:
    """A "Streams" tab: open streams now and the raw TTFT/ITL percentiles per scenario."""
    from flask import request  # Locust's web UI is Flask; imported only when it runs

    web_ui.template_args["extended_tabs"] = [{"title": "Streams", "key": "streams"}]
    web_ui.template_args["extended_tables"] = [
        {
            "key": "streams",
            "structure": [
                {"key": "scenario", "title": "Scenario"},
                {"key": "open", "title": "Open streams now"},
                {"key": "streams", "title": f"Streams ended (a scenario: of the last {UI_RECENT})"},
                {"key": "failed", "title": "Failed"},
                {"key": "ttft", "title": f"TTFT p50 / p99 ms (last {UI_RECENT} streams)"},
                {"key": "itl", "title": f"ITL p50 / p99 ms (last {UI_RECENT} streams)"},
            ],
        }
    ]

    @web_ui.app.after_request
    def add_stream_stats(response: Any) -> Any:
        if request.path != "/stats/requests" or not response.is_json:
            return response
        rows: list[dict[str, Any]] = [
            {"scenario": "(all)", "open": COLLECTOR.open_streams(), "streams": len(COLLECTOR.lines)}
        ]
        for name, s in summarize(COLLECTOR.lines[-UI_RECENT:]).items():
            rows.append(
                {
                    "scenario": name,
                    "streams": s.streams,
                    "failed": s.failed,
                    "ttft": f"{s.ttft.p50:.1f} / {s.ttft.p99:.1f}",
                    "itl": f"{s.itl.p50:.1f} / {s.itl.p99:.1f}",
                }
            )
        body = {**response.json, "extended_stats": [{"key": "streams", "data": rows}]}
        response.set_data(json.dumps(body))
        return response
