"""Named engine profiles (`--profile NAME`): the serving model's parameters for one deployment.

Every figure here is taken from llm-d-inference-sim's latency profiles
(`docs/latency-profiles.md` and `manifests/latency-profiles/*-per-token.yaml` in
github.com/llm-d/llm-d-inference-sim). That page says its tables are "gathered from publicly
available benchmarks of vLLM, MLPerf, and GPU vendors" and calls them "order-of-magnitude
estimates", calibrated so that a 256-token prompt's prefill lands in its measured TTFT range
(e.g. 8B on H100: 30 + 256 * 0.25 = 94 ms against 60-120 ms). They are a plausible shape for a
load test, not a measurement of any one server. Its Gaussian std-devs are not carried over: the
mock's jitter is uniform and off unless asked for.

A profile only sets defaults: flags given on the command line still win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    itl_ms: float
    prefill_overhead_ms: float
    prefill_ms_per_token: float
    load_factor: float
    max_num_seqs: int
    source: str

    def defaults(self) -> dict[str, Any]:
        """The CLI defaults this profile sets; TTFT is all prefill, so `ttft_ms` is 0."""
        return {
            "ttft_ms": 0.0,
            "itl_ms": self.itl_ms,
            "prefill_overhead_ms": self.prefill_overhead_ms,
            "prefill_ms_per_token": self.prefill_ms_per_token,
            "load_factor": self.load_factor,
            "max_num_seqs": self.max_num_seqs,
        }


_SOURCE = "llm-d-inference-sim docs/latency-profiles.md, "

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "8b-h100",
            "Llama-3.1-8B on one H100, balanced load",
            itl_ms=12.0,
            prefill_overhead_ms=30.0,
            prefill_ms_per_token=0.25,
            load_factor=2.0,
            max_num_seqs=16,
            source=_SOURCE + "Profile 1 (8b-h100-balanced-per-token.yaml)",
        ),
        Profile(
            "70b-h100-tp8",
            "Llama-3.1-70B on 8x H100 (TP=8), throughput-optimised, near its batch limit",
            itl_ms=25.0,
            prefill_overhead_ms=80.0,
            prefill_ms_per_token=0.5,
            load_factor=3.0,
            max_num_seqs=64,
            source=_SOURCE + "Profile 2 (70b-h100-tp8-throughput-per-token.yaml)",
        ),
        Profile(
            "3b-l40s-edge",
            "Llama-3.2-3B on one L40S, low-latency edge, small batch",
            itl_ms=15.0,
            prefill_overhead_ms=20.0,
            prefill_ms_per_token=0.35,
            load_factor=1.5,
            max_num_seqs=4,
            source=_SOURCE + "Profile 3 (small-l40s-edge-per-token.yaml)",
        ),
    )
}
