"""Scenario 9: a primary driven above its rate limit, sequentially and by 10 callers.

The emulated primary allows `REQUESTS` requests and `TOKENS` tokens per fixed window of
`WINDOW` seconds and says so in `x-ratelimit-*` headers, as OpenAI does; over it, a 429
`rate_limit_exceeded`. Each tool is driven above the limit for `DURATION` seconds, a turn
every `GAP` seconds per caller, and answers from the backup when it does not use the
primary. Counted: the primary's 429s, its share of what the bucket allowed (windows
touched x turns one window's budget covers), and the time to answer. LiteLLM's Router is
given the same limits as `rpm`/`tpm` with its usage-based routing, which counts per
wall-clock minute (its minutes and the emulator's windows are not aligned).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage

from bench import peers
from bench.env import Env, thread_id
from bench.harness import stats
from bench.peers import Tool, answered_by
from bench.report import Section, Table, ms
from langgraph_failover.health.store import MemoryStore

WINDOW = 60.0
REQUESTS = 40
TOKENS = 4000
DURATION = 70.0
GAP = 0.05
WORKERS = 10
TEXT = "Please explain, with two short examples, when Japanese uses the particle wa. " * 6
"""The user's message: 462 characters, 116 tokens by OpenAI's estimate."""


def charge() -> int:
    """What the emulator charges one turn (characters / 4): the message alone."""
    return math.ceil(len(TEXT) / 4)


def allowed(elapsed: float) -> int:
    """Turns the bucket let through in `elapsed` seconds, every window used up."""
    per_window = min(REQUESTS, TOKENS // charge())
    return math.ceil(elapsed / WINDOW) * per_window


@dataclass
class Load:
    """What one tool did under the load."""

    times: list[float] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0
    limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, seconds: float, by: str) -> None:
        """Record one answered turn."""
        with self.lock:
            self.times.append(seconds)
            self.served[by] = self.served.get(by, 0) + 1


def drive(env: Env, tool: Tool, workers: int) -> Load:
    """Drive `tool` above the primary's limit with `workers` callers for `DURATION`."""
    env.reset()
    env.openai.rate_limits(REQUESTS, TOKENS, WINDOW)
    load, started = Load(), time.perf_counter()
    stop_at = started + (6.0 if env.quick else DURATION)

    def caller() -> None:
        while time.perf_counter() < stop_at:
            begun = time.perf_counter()
            try:
                result: Any = tool.invoke(thread_id(), [HumanMessage(TEXT)])
            except Exception:  # a turn not answered: counted, the load goes on
                with load.lock:
                    load.errors += 1
            else:
                load.answered(time.perf_counter() - begun, answered_by(result))
            time.sleep(GAP)

    threads = [threading.Thread(target=caller) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.elapsed = time.perf_counter() - started
    load.limited = env.openai.limited()
    return load


def tools(env: Env) -> dict[str, Any]:
    """Each tool's maker: fresh state (circuits, budgets, a Router's counters) per run."""
    up = env.up
    limits = {"rpm": REQUESTS, "tpm": TOKENS}
    return {
        # Its own client (an injected one is not paced), and its own store: budgets
        # and circuits start empty.
        "ours (pacing on)": lambda: peers.ours(up, None, None, name="ours", store=MemoryStore()),
        "with_fallbacks (max_retries=0)": lambda: peers.with_fallbacks(up, max_retries=0),
        "with_fallbacks (default retries)": lambda: peers.with_fallbacks(up, max_retries=None),
        "LiteLLM Router (rpm/tpm, usage-based-routing-v2)": lambda: peers.litellm_router(
            up, "rpm/tpm", primary=limits, routing_strategy="usage-based-routing-v2",
            num_retries=0),
    }  # fmt: skip


def run(env: Env) -> Section:
    """Scenario 9, sequential and with `WORKERS` concurrent callers."""
    rows, findings = [], []
    for callers in (1, WORKERS):
        mode = "sequential" if callers == 1 else f"{callers} concurrent"
        for name, make in tools(env).items():
            load = drive(env, make(), callers)
            primary, cap = load.served.get("openai", 0), allowed(load.elapsed)
            share = primary / cap if cap else 0.0
            summary = stats(load.times) if load.times else None
            rows.append([
                f"{name} [{mode}]", str(load.limited), f"{primary} / {cap} ({share:.0%})",
                str(len(load.times)), str(load.errors),
                ms(summary.median) if summary else "-", ms(summary.p99) if summary else "-",
            ])  # fmt: skip
            if name.startswith("ours"):
                findings.append(
                    f"ours, {mode}: {load.limited} 429s, primary "
                    f"{share:.0%} of what its bucket allowed, "
                    f"{load.errors} turns unanswered."
                )
    table = Table(
        title="9. Primary driven above its rate limit",
        columns=["tool [callers]", "429s", "primary answers / bucket allowed", "turns",
                 "unanswered", "median (ms)", "p99 (ms)"],
        rows=rows,
        notes=[f"Bucket: {REQUESTS} requests and {TOKENS} tokens per {WINDOW:g} s window; "
               f"each turn {charge()} tokens by the emulator's count; {DURATION:g} s per "
               f"tool, a turn every {GAP:g} s per caller."],
    )  # fmt: skip
    return Section("pacing", table.title, [table], findings)
