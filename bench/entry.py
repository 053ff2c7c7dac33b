"""Scenario 8: turns that start at the backup, against LangGraph's floor on the backup.

The primary is out of quota and its circuit open. A fresh thread's turn is skipped past
the primary by the entry edge (the shared circuit), a failed-over thread's next turn by
its own `sticky` record too; neither runs the primary's node. Each is timed against
LangGraph's one-node graph calling the backup with the same saver (the least any graph
can cost here) and `with_fallbacks(max_retries=0)`, which asks the dead primary every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import peers
from bench.env import Env, Saver, ask, thread_id
from bench.harness import Case, interleaved, stats
from bench.peers import Tool
from bench.report import Section, Table, ms
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import quota

FLOOR = "LangGraph floor calling ChatOllama"


def fresh(tool: Tool) -> Case:
    """A new thread's first turn."""

    def prepare() -> Callable[[], Any]:
        thread = thread_id()
        return lambda: tool.invoke(thread, [ask(0)])

    return prepare


def second(tool: Tool) -> Case:
    """A thread's second turn (the first, untimed, is where ours fails over)."""

    def prepare() -> Callable[[], Any]:
        thread = thread_id()
        tool.invoke(thread, [ask(0)])
        return lambda: tool.invoke(thread, [ask(0), ask(1)])

    return prepare


def measure(env: Env, kind: Saver) -> dict[str, list[float]]:
    """Samples of every case, interleaved, with the primary's circuit open for ours."""
    env.reset()
    env.openai.always(quota())
    store = MemoryStore()  # opened by the warm-up, then open for the whole run
    with env.saver(kind) as a, env.saver(kind) as b, env.saver(kind) as c, env.saver(kind) as d:
        ours_fresh = peers.ours(env.up, env.client, a, name="ours", store=store)
        ours_sticky = peers.ours(env.up, env.client, b, name="ours", store=store)
        floor_fresh = peers.floor(peers.backup(env.up), c, name=FLOOR)
        floor_second = peers.floor(peers.backup(env.up), d, name=FLOOR)
        fallbacks = peers.with_fallbacks(env.up, max_retries=0)
        cases = {
            "ours: fresh thread, circuit open": fresh(ours_fresh),
            f"{FLOOR}: first turn": fresh(floor_fresh),
            "ours: failed-over thread's next turn": second(ours_sticky),
            f"{FLOOR}: second turn": second(floor_second),
            "with_fallbacks (max_retries=0)": fresh(fallbacks),
        }
        return interleaved(cases, env.size(300, 5), warmup=5)


def run(env: Env) -> Section:
    """Scenario 8, with the in-memory saver and SQLite."""
    rows, findings = [], []
    for kind in ("memory", "sqlite"):
        samples = measure(env, kind)  # resets the emulators: their counts are this run's
        medians = {name: stats(times).median for name, times in samples.items()}
        fresh_over = medians["ours: fresh thread, circuit open"] - medians[f"{FLOOR}: first turn"]
        sticky_over = (medians["ours: failed-over thread's next turn"]
                       - medians[f"{FLOOR}: second turn"])  # fmt: skip
        for name, times in samples.items():
            summary = stats(times)
            rows.append([f"{name} [{kind}]", ms(summary.median), ms(summary.p99),
                         str(summary.n)])  # fmt: skip
        fallbacks = medians["with_fallbacks (max_retries=0)"]
        findings.append(
            f"[{kind}] circuit open, fresh thread: {fresh_over:+.2f} ms over the floor graph "
            f"calling the backup; failed-over thread's next turn: {sticky_over:+.2f} ms "
            f"; with_fallbacks(max_retries=0) "
            f"{fallbacks:.2f} ms vs ours {medians['ours: fresh thread, circuit open']:.2f} ms; "
            f"{env.openai.count()} primary requests in the run (ours: the warm-up's "
            "first; with_fallbacks: one per call)."
        )
    table = Table(
        title="8. Turns that start at the backup (primary out of quota, circuit open)",
        columns=["case [saver]", "median (ms)", "p99 (ms)", "samples"],
        rows=rows,
        notes=["Interleaved rounds, a sync caller; the floor is LangGraph's one-node graph "
               "calling the same ChatOllama with the same saver."],
    )  # fmt: skip
    return Section("entry", table.title, [table], findings)
