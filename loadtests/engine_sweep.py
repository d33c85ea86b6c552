"""`python -m loadtests.engine_sweep`: the service in front of a loaded model server, measured
with Locust at rising concurrency, next to what the mock's engine model predicts.

One mock (the `engine` scenario: profile `8b-h100`, 16 slots, load factor 2) and one service
(at most 48 streams, a 3 s first-token deadline) serve every step; each step is a headless
Locust run of closed-loop chat users. The table and chart (`reports/load/engine_sweep.md`,
`.png`) show client-seen TTFT p50/p99, the model's steady-state TTFT
(`mock_llm.engine.closed_loop_ttft_ms`), the mock's own queue wait and batch size from its
ledger, and the failures by code: where the service's admission (`over_capacity`) and
first-token deadline (`first_token_timeout`) start to act.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from ghoststream.harness.stats import percentile
from loadtests import run
from loadtests.reports import RunFiles
from mock_llm.engine import closed_loop_ttft_ms, prefill_ms
from mock_llm.profiles import PROFILES

ITL_MS = 12.0  # the profile's; the users' directive asks for the same, so nothing overrides it
TOKENS = 40


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.engine_sweep",
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--users", default="1,8,16,24,32,48,64", help="concurrency steps")
    parser.add_argument("--run-time", default="20s", help="each step's Locust run")
    parser.add_argument("--out", default="reports/load", help="where the table and chart go")
    return parser.parse_args(argv)


def ledger(mock_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{mock_url}/mock/requests", params={"wait_until_closed": 30}, timeout=40)
    requests: list[dict[str, Any]] = response.json()["requests"]
    return requests


def step(host: str, mock_url: str, users: int, args: argparse.Namespace) -> dict[str, Any]:
    httpx.post(f"{mock_url}/mock/reset", timeout=10).raise_for_status()
    name = f"engine-{users}"
    locust = ["--ttft-ms", "0", "--itl-ms", str(ITL_MS), "--tokens", str(TOKENS)]
    run.main(
        [
            *("--scenario", "engine", "--target", host, "--mock-url", mock_url),
            *("-u", str(users), "-r", str(max(users, 1)), "-t", args.run_time),
            *("--out", args.out, "--name", name),
            *locust,
        ]
    )
    lines = RunFiles(Path(args.out) / name).lines()
    done = [line for line in lines if not line["stopped"]]
    ttft = [line["ttft_ms"] for line in done if line["ttft_ms"] is not None and line["passed"]]
    seen = ledger(mock_url)
    prompt_tokens = [r["prompt_chars"] / 4 for r in seen] or [0.0]
    profile = PROFILES["8b-h100"]
    prefill = prefill_ms(
        round(sum(prompt_tokens) / len(prompt_tokens)),
        profile.prefill_ms_per_token,
        profile.prefill_overhead_ms,
    )
    model = closed_loop_ttft_ms(
        users, profile.max_num_seqs, profile.load_factor, 0.0, ITL_MS, TOKENS, prefill
    )
    waits = [r["queue_wait_ms"] for r in seen if r.get("queue_wait_ms") is not None]
    batches = [r["batch_at_start"] for r in seen if r.get("batch_at_start") is not None]
    failures = collections.Counter(
        line["error_code"] or line["failure"] or "failed" for line in done if not line["passed"]
    )
    return {
        "users": users,
        "streams": len(done),
        "ttft_p50": percentile(ttft, 50) if ttft else float("nan"),
        "ttft_p99": percentile(ttft, 99) if ttft else float("nan"),
        "model": model,
        "queue_wait_p50": percentile(waits, 50) if waits else float("nan"),
        "batch_p50": percentile(batches, 50) if batches else float("nan"),
        "failures": dict(failures),
    }


def write(rows: list[dict[str, Any]], out: Path) -> Path:
    table = [
        "| users | streams | TTFT p50 (ms) | TTFT p99 (ms) | model TTFT (ms) | p50 / model | "
        "mock queue wait p50 (ms) | batch p50 | failures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row["ttft_p50"] / row["model"] if row["model"] else float("nan")
        failures = ", ".join(f"{code} {n}" for code, n in row["failures"].items()) or "0"
        table.append(
            f"| {row['users']} | {row['streams']} | {row['ttft_p50']:.0f} | {row['ttft_p99']:.0f}"
            f" | {row['model']:.0f} | {ratio:.2f} | {row['queue_wait_p50']:.0f}"
            f" | {row['batch_p50']:.0f} | {failures} |"
        )
    path = out / "engine_sweep.md"
    path.write_text("\n".join(table) + "\n", encoding="utf-8")
    with contextlib.suppress(ImportError):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 4))
        users = [row["users"] for row in rows]
        for key, label in (("ttft_p50", "TTFT p50"), ("ttft_p99", "TTFT p99"), ("model", "model")):
            axes.plot(users, [row[key] for row in rows], marker="o", label=label)
        axes.set_xlabel("concurrent users")
        axes.set_ylabel("ms")
        axes.set_title("Through the service, mock profile 8b-h100 (16 slots)")
        axes.legend()
        figure.savefig(out / "engine_sweep.png", dpi=100, bbox_inches="tight")
        plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = [int(users) for users in args.users.split(",")]
    with run.servers(run.SCENARIOS["engine"]) as (host, mock_url):
        rows = [step(host, mock_url, users, args) for users in steps]
    path = write(rows, out)
    print(path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
