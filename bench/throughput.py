"""Scenario 4, throughput: many concurrent async sessions, 30 % of primary calls a 429.

Each session is one conversation of a few turns, one after another; all sessions run at
once on one event loop. The OpenAI emulator answers a shuffled script in which exactly
30 % of its requests get `429 rate_limit_exceeded` with `Retry-After: 1` (OpenAI's usual
whole-second header). The healthy rows, with no 429 injected, are the references: the
client alone, LangGraph's floor and our graph.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from bench import peers
from bench.env import Env, ask, thread_id
from bench.harness import stats
from bench.peers import Tool, answered_by
from bench.report import Section, Table, ms
from langgraph_failover.testing import Behaviour, ok, rate_limited

SHARE = 0.3


@dataclass(slots=True)
class Load:
    """What one tool did under one load."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    primary: int = 0
    served: Counter[str] = field(default_factory=Counter)


def pattern(n: int, seed: int = 4) -> list[Behaviour]:
    """`n` behaviours, exactly 30 % of them a 429 with Retry-After 1 s, shuffled."""
    faults = round(n * SHARE)
    out = [rate_limited(retry_after=1)] * faults + [ok()] * (n - faults)
    random.Random(seed).shuffle(out)
    return out


async def _session(tool: Tool, turns: int, load: Load) -> None:
    thread, conversation = thread_id(), list[BaseMessage]()
    for index in range(turns):
        conversation.append(ask(index))
        started = time.perf_counter()
        try:
            result = await tool.ainvoke(thread, list(conversation))
        except Exception:  # counted: a tool without a working fallback raises here
            load.errors += 1
            load.latencies.append(time.perf_counter() - started)
            continue
        load.latencies.append(time.perf_counter() - started)
        load.served[answered_by(result)] += 1
        conversation.append(AIMessage(f"answer {index}"))


async def _load(env: Env, tool: Tool, sessions: int, turns: int, faults: bool) -> Load:
    env.reset()
    if faults:
        env.openai.script(*pattern(sessions * turns * 3))
    load = Load()
    before = env.openai.count()
    started = time.perf_counter()
    await asyncio.gather(*(_session(tool, turns, load) for _ in range(sessions)))
    load.seconds = time.perf_counter() - started
    load.primary = env.openai.count() - before
    return load


def _tools(env: Env) -> list[tuple[Tool, bool]]:
    """(tool, with 429s injected) in the order measured."""
    memory = InMemorySaver()
    routers: tuple[tuple[str, dict[str, Any]], ...] = (
        ("default", {}), ("num_retries=0", {"num_retries": 0}),
        ("allowed_fails=1", {"allowed_fails": 1}))  # fmt: skip
    litellm = [peers.litellm_router(env.up, label, **settings) for label, settings in routers]
    return [
        (peers.direct(env.client), False),
        (peers.floor(env.client, memory, name="floor [memory]"), False),
        (peers.ours(env.up, env.client, memory, name="ours [memory]"), False),
        (peers.ours(env.up, env.client, memory, name="ours [memory]"), True),
        (peers.with_fallbacks(env.up, max_retries=None), True),
        (peers.with_fallbacks(env.up, max_retries=0), True),
        *[(router, True) for router in litellm],
    ]


async def _all(env: Env) -> list[tuple[str, int, int, Load]]:
    out = []
    sizes = ((10, 1), (100, 1)) if env.quick else ((100, 5), (1000, 1))
    for sessions, turns in sizes:
        for tool, faults in _tools(env):
            load = await _load(env, tool, sessions, turns, faults)
            label = f"{tool.name}{', 30 % 429' if faults else ', healthy'}"
            out.append((label, sessions, turns, load))
    return out


def run(env: Env) -> Section:
    """Measure every tool at 100 and 1,000 concurrent sessions."""
    results = asyncio.run(_all(env))
    rows: list[list[str]] = []
    for label, sessions, turns, load in results:
        s = stats(load.latencies)
        rate = len(load.latencies) / load.seconds
        served = ", ".join(f"{k} {v}" for k, v in sorted(load.served.items()))
        rows.append([label, f"{sessions:,}", str(turns), f"{rate:,.0f}", ms(s.median), ms(s.p99),
                     str(load.errors), f"{load.primary:,}", served])  # fmt: skip
    table = Table(
        title="Concurrent async sessions (latency per turn in ms)",
        columns=[
            "tool",
            "sessions",
            "turns each",
            "turns/s",
            "p50",
            "p99",
            "errors",
            "primary requests",
            "answered by",
        ],
        rows=rows,
        notes=[
            "Stateless tools are sent the whole conversation each turn; our graph and "
            "the floor keep it in `InMemorySaver` and are sent the new message."
        ],
    )
    return Section("throughput", "4. Throughput", [table], [])
