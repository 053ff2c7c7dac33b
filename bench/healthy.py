"""Scenario 1, a healthy primary: what a turn costs over a direct `ChatOpenAI` call.

Our graph runs against LangGraph's floor (a one-node graph calling the same client with
the same checkpointer) and the peers, all interleaved in one loop. Each stateful case is
the second turn of a fresh thread (the first is made untimed), so every sample reads and
writes a checkpoint of the same size.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from langgraph.types import Durability

from bench import peers
from bench.env import Env, Saver, ask, thread_id
from bench.harness import Case, interleaved, stats
from bench.peers import Tool
from bench.report import Section, Table, ms

SAVERS: tuple[Saver, ...] = ("none", "memory", "sqlite")
# (label, durability passed at invoke); None is each graph's own default: "sync" for
# ours (crash resume), LangGraph's "async" for the floor.
DURABILITIES: tuple[tuple[str, Durability | None], ...] = (
    ("default", None), ("sync", "sync"), ("exit", "exit"),
)  # fmt: skip


def _case(tool: Tool) -> Case:
    def prepare() -> Callable[[], Any]:
        thread, first = thread_id(), [ask(0)]
        if tool.stateful:
            tool.invoke(thread, first)  # turn 1, untimed: turn 2 reads a real checkpoint
        second = [*first, first[0], ask(1)]  # stateless tools get the history again
        return lambda: tool.invoke(thread, second)

    return prepare


def tools(env: Env, stack: ExitStack) -> dict[str, tuple[Tool, Saver, str]]:
    """Every case of the scenario: its tool, checkpointer and durability label."""
    out: dict[str, tuple[Tool, Saver, str]] = {}
    for tool in (peers.direct(env.client), peers.with_fallbacks(env.up, max_retries=None),
                 peers.with_fallbacks(env.up, max_retries=0),
                 peers.litellm_router(env.up, "default")):  # fmt: skip
        out[tool.name] = (tool, "none", "-")
    for kind in SAVERS:
        saver = stack.enter_context(env.saver(kind))
        for label, durability in DURABILITIES if kind != "none" else (("-", None),):
            for who in ("ours", "floor"):
                name = f"{who} [{kind}, {label}]"
                if who == "ours":
                    tool = peers.ours(env.up, env.client, saver, name=name, durability=durability)
                else:
                    tool = peers.floor(env.client, saver, name=name, durability=durability)
                out[name] = (tool, kind, label)
    return out


def run(env: Env) -> Section:
    """Measure every case interleaved; tabulate medians, p99 and the differences."""
    env.reset()
    rounds = env.size(300, 20)
    with ExitStack() as stack:
        cases = tools(env, stack)
        samples = interleaved({n: _case(t) for n, (t, _, _) in cases.items()}, rounds)
    summary = {name: stats(s) for name, s in samples.items()}
    direct = summary["direct ChatOpenAI"].median
    rows = []
    for name, (_tool, _kind, _label) in cases.items():
        s = summary[name]
        floor = _floor_of(name, summary)
        rows.append([name, ms(s.median), ms(s.p99), f"{s.median - direct:+.2f}",
                     f"{s.median - floor:+.2f}" if floor is not None else ""])  # fmt: skip
    table = Table(
        title=f"Healthy turn, {rounds} interleaved rounds (ms)",
        columns=["case", "median", "p99", "over direct call", "over floor (same saver)"],
        rows=rows,
        notes=[
            "`[saver, durability]`: `default` is each graph's own (ours: `sync`, so a "
            "crash resumes on the backup; LangGraph's floor: `async`).",
            "Floor: a one-node `MessagesState` graph calling the same `ChatOpenAI` instance "
            "with the same checkpointer.",
        ],
    )
    findings = _findings(summary)
    return Section("healthy", "1. Healthy primary", [table], findings)


def _floor_of(name: str, summary: dict[str, Any]) -> float | None:
    """The floor's median with the same checkpointer and durability label as `name`."""
    if not name.startswith("ours ["):
        return None
    twin = name.replace("ours [", "floor [", 1)
    return float(summary[twin].median) if twin in summary else None


def _findings(summary: dict[str, Any]) -> list[str]:
    out = []
    for kind in ("memory", "sqlite"):
        ours = summary[f"ours [{kind}, default]"].median
        same = summary[f"floor [{kind}, sync]"].median
        lg_default = summary[f"floor [{kind}, default]"].median
        out.append(
            f"{kind}: ours (sync, crash-safe) is {ours - same:+.2f} ms over the floor at the "
            f"same durability, {ours - lg_default:+.2f} ms over the floor at LangGraph's "
            f"default durability."
        )
    none = summary["ours [none, -]"].median - summary["floor [none, -]"].median
    out.append(f"no checkpointer: ours is {none:+.2f} ms over the floor.")
    return out
