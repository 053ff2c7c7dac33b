"""Scenario 5, long sessions: a turn's cost with 10, 100 and 1,000 messages in the thread.

Each sample is one turn on a thread seeded (untimed) with N messages, ours and the floor
interleaved on the same checkpointer type and the same durability (`sync`, ours' own).
The difference is our own per-turn work; the floor is what the checkpointer and
LangGraph cost at that length; the direct call (the client sent N messages) is what the
request itself costs. For SQLite, the bytes of the rows each turn writes are counted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from bench import peers
from bench.env import Env, Saver, ask, history, thread_id
from bench.harness import Case, interleaved, stats
from bench.peers import Tool
from bench.report import Section, Table, ms

LENGTHS = (10, 100, 1000)
KINDS: tuple[Saver, ...] = ("memory", "sqlite")


def _case(tool: Tool, n: int) -> Case:
    def prepare() -> Callable[[], Any]:
        thread, seeded = thread_id(), [*history(n), ask(n)]
        if tool.stateful:
            tool.invoke(thread, seeded)  # untimed: the thread now holds n + 2 messages
        later = [*seeded, seeded[-1], ask(n + 1)]
        return lambda: tool.invoke(thread, later)

    return prepare


def _bytes(conn: sqlite3.Connection, thread: str) -> int:
    """Bytes of checkpoint, metadata and pending-write rows a thread has in SQLite."""
    rows = conn.execute(
        "SELECT (SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM "
        "checkpoints WHERE thread_id = ?), (SELECT coalesce(sum(length(value)), 0) FROM "
        "writes WHERE thread_id = ?)",
        (thread, thread),
    ).fetchone()
    return int(rows[0]) + int(rows[1])


def _written(tool: Tool, saver: SqliteSaver, n: int) -> int:
    """Bytes one turn at length `n` adds to SQLite."""
    thread, seeded = thread_id(), [*history(n), ask(n)]
    tool.invoke(thread, seeded)
    before = _bytes(saver.conn, thread)
    tool.invoke(thread, [*seeded, seeded[-1], ask(n + 1)])
    return _bytes(saver.conn, thread) - before


def run(env: Env) -> Section:
    """Per-turn medians at each length; our work over the floor; SQLite bytes per turn."""
    env.reset()
    rows: list[list[str]] = []
    growth: list[tuple[int, dict[Saver, float]]] = []
    with ExitStack() as stack:
        savers = {kind: stack.enter_context(env.saver(kind)) for kind in KINDS}
        tools = {"direct ChatOpenAI": peers.direct(env.client)}
        for kind, saver in savers.items():
            tools[f"ours [{kind}]"] = peers.ours(env.up, env.client, saver, name=kind)
            tools[f"floor [{kind}]"] = peers.floor(env.client, saver, name=kind,
                                                   durability="sync")  # fmt: skip
        for n in LENGTHS:
            rounds = env.size(30 if n < 1000 else 15, 3)
            cases = {name: _case(tool, n) for name, tool in tools.items()}
            med = {k: stats(v).median for k, v in interleaved(cases, rounds, warmup=1).items()}
            sqlite = savers["sqlite"]
            assert isinstance(sqlite, SqliteSaver)
            ours_b, floor_b = (
                _written(tools[f"{w} [sqlite]"], sqlite, n) for w in ("ours", "floor")
            )
            extra = {k: med[f"ours [{k}]"] - med[f"floor [{k}]"] for k in KINDS}
            growth.append((n, extra))
            rows.append([f"{n:,}", ms(med["direct ChatOpenAI"]),
                         *(c for k in KINDS for c in (ms(med[f"floor [{k}]"]),
                           ms(med[f"ours [{k}]"]), f"{extra[k]:+.2f}")),
                         f"{floor_b:,}", f"{ours_b:,}"])  # fmt: skip
    table = Table(
        title="Per-turn median (ms) by messages already in the thread",
        columns=[
            "messages",
            "direct call",
            "floor memory",
            "ours memory",
            "ours - floor",
            "floor SQLite",
            "ours SQLite",
            "ours - floor",
            "SQLite bytes/turn floor",
            "SQLite bytes/turn ours",
        ],
        rows=rows,
        notes=[
            "Both graphs at `durability=\"sync\"` (ours' default; the floor's is "
            "`async`). The direct call is sent the whole history, as a stateless app does."
        ],
    )
    first, last = growth[0], growth[-1]
    findings = [f"{k}: ours - floor is {first[1][k]:+.2f} ms at {first[0]} messages and "
                f"{last[1][k]:+.2f} ms at {last[0]:,}." for k in KINDS]  # fmt: skip
    return Section("long", "5. Long sessions", [table], findings)
