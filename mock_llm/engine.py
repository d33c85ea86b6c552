"""A model of a loaded serving engine: batch slots, a FIFO waiting queue, prefill and slowdown.

Off unless `--max-num-seqs` (slots) or a prefill control is set, so the default schedule stays
today's exact one. The model follows llm-d-inference-sim's latency model (its
`docs/latency-simulation.md` and `getCurrLoadFactor` in its latency calculator), with the same
parameter names where it has them:

    prefill_ms  = prefill_overhead_ms + prefill_ms_per_token * (prompt_tokens - cached_tokens)
    LF(r)       = 1 + (load_factor - 1) * (r - 1) / (max_num_seqs - 1)    (1 when max_num_seqs <= 1)
    first token = queue_wait + (ttft_ms + prefill_ms) * LF(r at admission)
    token i + 1 = token i + itl_ms * LF(r when token i was sent)          (jitter added on top)

`r` counts the streams holding a slot, this one included. The load factor is recomputed for
every token, as continuous batching makes a step slower while the batch is larger.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import OrderedDict, deque
from collections.abc import Sequence


def load_factor(running: int, max_num_seqs: int, factor: float) -> float:
    """The slowdown with `running` streams in a batch of at most `max_num_seqs`: linear from 1x
    at one stream to `factor` at a full batch (llm-d-inference-sim's `getCurrLoadFactor`)."""
    if max_num_seqs <= 1:
        return 1.0
    return 1.0 + (factor - 1.0) * (running - 1) / (max_num_seqs - 1)


def prefill_ms(prompt_tokens: int, ms_per_token: float, overhead_ms: float) -> float:
    """The prompt's prefill at one running stream: a fixed cost plus a cost per prompt token."""
    if ms_per_token <= 0 and overhead_ms <= 0:
        return 0.0
    return overhead_ms + ms_per_token * prompt_tokens


def first_token_ms(ttft_ms: float, prefill: float, factor: float) -> float:
    """Time from admission to the first token: the constant TTFT plus prefill, slowed down."""
    return (ttft_ms + prefill) * factor


def closed_loop_ttft_ms(
    users: int,
    max_num_seqs: int,
    factor: float,
    ttft_ms: float,
    itl_ms: float,
    tokens: int,
    prefill: float,
) -> float:
    """The model's TTFT in steady state for `users` clients that each ask again as soon as an
    answer ends (a closed loop, as Locust's users do). Up to `max_num_seqs` users all run at
    once; beyond, the slots stay full and, by Little's law, each user's cycle is `users / N`
    slot-holding times, so the queue wait is `S * (users / N - 1)`, where `S` is one stream's
    time in a slot at a full batch. Client and relay overheads are not in it."""
    running = min(users, max_num_seqs) if max_num_seqs > 0 else users
    lf = load_factor(running, max_num_seqs, factor) if max_num_seqs > 0 else 1.0
    first = first_token_ms(ttft_ms, prefill, lf)
    if max_num_seqs <= 0 or users <= max_num_seqs:
        return first
    in_slot = first + max(0, tokens - 1) * itl_ms * lf
    return in_slot * (users / max_num_seqs - 1) + first


BLOCK_TOKENS = 16
"""vLLM's default KV-cache block: prefix caching reuses whole blocks only."""
BLOCK_CHARS = BLOCK_TOKENS * 4  # the mock counts 4 characters a token


class PrefixCache:
    """Prompt blocks recently prefilled (`--prefix-cache`), as automatic prefix caching keeps
    them: a block is reused only when every block before it matched too, so `cached_tokens`
    is the length of the longest recently seen prefix, in whole blocks. Least recently used
    blocks are forgotten first."""

    def __init__(self, capacity_blocks: int = 100_000) -> None:
        self.capacity = capacity_blocks
        self.blocks: OrderedDict[bytes, None] = OrderedDict()

    def cached_tokens(self, messages: Sequence[tuple[str, str]], prompt_tokens: int) -> int:
        """Tokens of this prompt already cached (at most all but one: the last is always
        computed), and remember its blocks for the next request."""
        text = "".join(f"{role}\0{body}\0" for role, body in messages).encode()
        chain = hashlib.blake2b(digest_size=16)
        matched, hit = 0, True
        for start in range(0, len(text) - BLOCK_CHARS + 1, BLOCK_CHARS):
            chain.update(text[start : start + BLOCK_CHARS])
            key = chain.digest()
            if hit and key in self.blocks:
                matched += 1
                self.blocks.move_to_end(key)
            else:
                hit = False
                self.blocks[key] = None
        while len(self.blocks) > self.capacity:
            self.blocks.popitem(last=False)
        return min(matched * BLOCK_TOKENS, max(0, prompt_tokens - 1))


class Engine:
    """`max_num_seqs` slots, shared by every route, and a FIFO queue of streams waiting for one.

    A slot freed while streams wait passes straight to the oldest, so `running` never dips and
    no stream jumps the queue. A waiter whose client leaves is taken out of the queue at once.
    """

    def __init__(self, max_num_seqs: int, max_queue: int | None = None) -> None:
        self.max_num_seqs = max_num_seqs
        self.max_queue = max_queue
        self.running = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    def full(self) -> bool:
        """True if a new stream could neither run nor wait."""
        return (
            self.max_queue is not None
            and self.running >= self.max_num_seqs
            and len(self.waiting) >= self.max_queue
        )

    async def acquire(self) -> None:
        """Take a slot, waiting in line for one if every slot is busy."""
        if self.running < self.max_num_seqs and not self.waiting:
            self.running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed a slot as the client left: pass it on
            else:
                with contextlib.suppress(ValueError):  # a release already dropped it
                    self.waiting.remove(turn)
            raise

    def release(self) -> None:
        """Give the slot back, or straight to the oldest stream still waiting."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.running -= 1
