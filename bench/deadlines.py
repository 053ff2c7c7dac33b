"""Scenarios 6 and 7: the primary answers, but its first token never comes, or it stalls.

The emulated primary sends its headers at once and then nothing for 60 s (6), or three
tokens and then nothing for 60 s (7). Each tool answers one turn for a sync caller; the
time is until the answer, whoever gives it. The peers run with their timeouts as the
bench configures them (30 s, the SDK's or Router's own retries) and tuned (10 s, no
retries); ours with its defaults (first token 10 s, stall 15 s). A whole-call timeout
short enough to cut a stall also cuts every healthy answer that takes longer, which is
what the first-token and stall limits avoid.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench import peers
from bench.env import Env, ask, thread_id
from bench.harness import stats
from bench.peers import Tool, answered_by
from bench.report import Section, Table, ms
from langgraph_failover.testing import Behaviour, slow_first_token, stall

SILENCE = 60.0
TUNED = 10.0


def tools(env: Env) -> dict[str, Callable[[], Tool]]:
    """Each tool's maker, fresh state each time."""
    up = env.up
    return {
        "ours (defaults)": lambda: peers.ours(
            up, env.client, None, name="ours (defaults)"),
        "with_fallbacks (timeout 30 s, default retries)": lambda: peers.with_fallbacks(
            up, max_retries=None, label="timeout 30 s, default retries"),
        f"with_fallbacks (timeout {TUNED:g} s, max_retries=0)": lambda: peers.with_fallbacks(
            up, max_retries=0, timeout=TUNED, label=f"timeout {TUNED:g} s, max_retries=0"),
        "LiteLLM Router (timeout 30 s, default retries)": lambda: peers.litellm_router(
            up, "timeout 30 s, default retries"),
        f"LiteLLM Router (timeout {TUNED:g} s, num_retries=0)": lambda: peers.litellm_router(
            up, f"timeout {TUNED:g} s, num_retries=0", timeout=TUNED, num_retries=0),
    }  # fmt: skip


def measure(
    env: Env, fault: Behaviour, make: Callable[[], Tool], calls: int
) -> tuple[list[float], int, set[str]]:
    """Seconds per call, requests the primary got, and who answered."""
    times, served, primary = [], set(), 0
    for _ in range(calls):
        env.reset()
        env.openai.always(fault)
        tool = make()
        started = time.perf_counter()
        result = tool.invoke(thread_id(), [ask(0)])
        times.append(time.perf_counter() - started)
        primary += env.openai.count()
        served.add(answered_by(result))
    return times, primary, served


def scenario(env: Env, key: str, title: str, fault: Behaviour) -> Section:
    """Every tool against `fault`: time to answer and who answered."""
    rows, medians = [], {}
    for name, make in tools(env).items():
        calls = env.size(3, 1) if name.startswith("ours") else 1
        times, primary, served = measure(env, fault, make, calls)
        median = stats(times).median
        medians[name] = median
        rows.append([name, ms(median), str(calls), f"{primary / calls:.0f}",
                     ", ".join(sorted(served))])  # fmt: skip
    ours = medians["ours (defaults)"]
    slowest = max(medians.values())
    findings = [
        f"ours answers in {ours / 1000:.1f} s with its default limits; the peers as "
        f"configured take up to {slowest / 1000:.1f} s.",
        f"tuned to a {TUNED:g} s whole-call timeout the peers answer sooner here, but that "
        f"timeout also fails over every healthy answer longer than {TUNED:g} s.",
    ]
    table = Table(
        title=title,
        columns=["tool", "time to answer (ms, median)", "calls", "primary requests per call",
                 "answered by"],
        rows=rows,
        notes=[f"The primary is silent for {SILENCE:g} s; a sync caller, fresh state per call."],
    )  # fmt: skip
    return Section(key, title, [table], findings)


def run(env: Env) -> list[Section]:
    """Scenarios 6 and 7."""
    return [
        scenario(env, "first_token", "6. Primary's first token never comes",
                 slow_first_token(SILENCE)),
        scenario(env, "stall", "7. Primary stalls mid-answer", stall(after=3, seconds=SILENCE)),
    ]  # fmt: skip
