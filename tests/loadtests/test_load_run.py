"""`python -m loadtests`'s command lines, without running them."""

from __future__ import annotations

import resource

from loadtests.run import (
    LOCUSTFILE,
    SCENARIOS,
    SERVICE_ENV,
    STEP_SHAPE,
    locust_command,
    parse_args,
    raise_fd_limit,
)


def command(*argv: str) -> list[str]:
    args, extra = parse_args(list(argv))
    return locust_command(args, SCENARIOS[args.scenario], "http://svc", "http://mock", extra)


def test_the_default_is_a_headless_steady_chat_run_with_every_report() -> None:
    cmd = command()
    assert cmd[-1] == "SteadyChatUser" and "--headless" in cmd
    assert cmd[cmd.index("-f") + 1] == str(LOCUSTFILE)
    assert [cmd[cmd.index(flag) + 1] for flag in ("-u", "-r", "-t")] == ["50", "10.0", "30s"]
    for flag, value in [
        ("--csv", "reports/load/steady_chat"),
        ("--html", "reports/load/steady_chat.html"),
        ("--records", "reports/load/steady_chat.jsonl"),
        ("--mock-url", "http://mock"),
    ]:
        assert cmd[cmd.index(flag) + 1] == value


def test_options_it_does_not_know_go_to_locust_before_the_class() -> None:
    cmd = command("--scenario", "hold_open", "--hold-itl-ms", "500", "--ttft-ms", "300")
    assert cmd[-3:] == ["--ttft-ms", "300", "HoldOpenUser"]
    assert cmd[cmd.index("--hold-itl-ms") + 1] == "500"


def test_step_adds_the_shape_and_leaves_users_and_time_to_it() -> None:
    cmd = command("--step", "--step-users", "25")
    assert cmd[cmd.index("-f") + 1] == f"{LOCUSTFILE},{STEP_SHAPE}"
    assert "-u" not in cmd and "-t" not in cmd


def test_another_locustfile_runs_its_own_classes_unless_some_are_named() -> None:
    assert not any(part.endswith("User") for part in command("-f", "loadtests/traps.py"))
    assert command("--user-class", "A", "B")[-2:] == ["A", "B"]


def test_scenario_specific_service_settings_and_stop_timeouts() -> None:
    assert SERVICE_ENV["GHOSTSTREAM_RATE_PER_CLIENT_S"] == "0"
    assert "GHOSTSTREAM_IDLE_TIMEOUT_S" in SCENARIOS["fault_mix"].service_env
    assert "--stop-timeout" in command("--scenario", "cancel_storm")


def test_the_open_files_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = raise_fd_limit()
    assert (soft, hard) == resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY
