"""Scenario 10: a primary that answers, but slowly; hedging to the local backup.

The emulated primary sends its headers at once and its first token `SLOW` seconds later.
Ours with `LLM_FAILOVER_HEDGE_AFTER=HEDGE` starts the backup once the primary's first
token is `HEDGE` seconds late, and answers from whichever streams first; without it, and
the peers, wait the primary out. Then a healthy primary: hedging must cost the backup
nothing (no request) and the turn no measurable time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bench import peers
from bench.env import Env, ask, thread_id
from bench.harness import Case, interleaved, stats
from bench.peers import Tool, answered_by
from bench.report import Section, Table, ms
from langgraph_failover.testing import Behaviour, ok, slow_first_token

SLOW = 3.0
HEDGE = 0.3


def tools(env: Env) -> dict[str, Callable[[], Tool]]:
    """Each tool's maker, fresh state each time."""
    up = env.up
    return {
        f"ours (hedge after {HEDGE:g} s)": lambda: peers.ours(
            up, env.client, None, name="ours hedged", hedge_after=HEDGE),
        "ours (no hedging)": lambda: peers.ours(up, env.client, None, name="ours"),
        "with_fallbacks (max_retries=0)": lambda: peers.with_fallbacks(up, max_retries=0),
        "LiteLLM Router (num_retries=0)": lambda: peers.litellm_router(
            up, "num_retries=0", num_retries=0),
    }  # fmt: skip


def slow(
    env: Env, make: Callable[[], Tool], calls: int, *, sync: bool
) -> tuple[list[float], set[str], int]:
    """Seconds to answer each call against the slow primary, who answered, backup requests.

    Async calls share one event loop, as an async app's do.
    """
    env.reset()
    env.openai.always(slow_first_token(SLOW))
    tool, times, served = make(), [], set()

    def record(started: float, result: Any) -> None:
        times.append(time.perf_counter() - started)
        served.add(answered_by(result))

    async def acalls() -> None:
        for _ in range(calls):
            started = time.perf_counter()
            record(started, await tool.ainvoke(thread_id(), [ask(0)]))

    if sync:
        for _ in range(calls):
            started = time.perf_counter()
            record(started, tool.invoke(thread_id(), [ask(0)]))
    else:
        asyncio.run(acalls())
    return times, served, env.ollama.count()


def healthy(env: Env) -> tuple[dict[str, list[float]], int]:
    """A healthy primary, ours with and without hedging interleaved; backup requests."""
    env.reset()
    env.openai.always(ok())
    hedged = peers.ours(env.up, env.client, None, name="hedged", hedge_after=HEDGE)
    plain = peers.ours(env.up, env.client, None, name="plain")

    def case(tool: Tool) -> Case:
        return lambda: lambda: tool.invoke(thread_id(), [ask(0)])

    samples = interleaved({"hedging on": case(hedged), "hedging off": case(plain)},
                          env.size(300, 5))  # fmt: skip
    return samples, env.ollama.count()


def run(env: Env) -> Section:
    """Scenario 10."""
    rows = []
    fault: Behaviour = slow_first_token(SLOW)
    medians: dict[str, float] = {}
    for sync in (True, False):
        caller = "sync" if sync else "async"
        for name, make in tools(env).items():
            calls = env.size(10, 2) if name.startswith("ours (hedge") else env.size(3, 1)
            times, served, backup = slow(env, make, calls, sync=sync)
            summary = stats(times)
            medians[f"{name} [{caller}]"] = summary.median
            rows.append([f"{name} [{caller}]", ms(summary.median), ms(summary.p99), str(calls),
                         ", ".join(sorted(served)), str(backup)])  # fmt: skip
    samples, backup_healthy = healthy(env)
    on, off = stats(samples["hedging on"]), stats(samples["hedging off"])
    hedged = f"ours (hedge after {HEDGE:g} s)"
    findings = [
        f"primary's first token {SLOW:g} s late: ours answers in "
        f"{medians[hedged + ' [sync]'] / 1000:.2f} s (sync) and "
        f"{medians[hedged + ' [async]'] / 1000:.2f} s (async) with a {HEDGE:g} s hedge; "
        f"without hedging, and the peers, "
        f"{medians['ours (no hedging) [sync]'] / 1000:.2f} s.",
        f"healthy primary: {backup_healthy} backup requests in {on.n + off.n} turns; "
        f"a turn {on.median:.2f} ms with hedging on, {off.median:.2f} ms off.",
    ]
    table = Table(
        title="10. A slow primary: hedging to the local backup",
        columns=["tool [caller]", "time to answer (ms, median)", "p99", "calls",
                 "answered by", "backup requests"],
        rows=rows,
        notes=[f"The primary's first token comes {SLOW:g} s after its headers; a fresh "
               "thread per call, no checkpointer; `fault` as in `langgraph_failover.testing`: "
               f"{fault.kind}, first_token={fault.first_token:g}."],
    )  # fmt: skip
    return Section("hedging", table.title, [table], findings)
