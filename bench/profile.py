"""Where our time goes on a healthy turn: pyinstrument over ours and over the floor.

Both run the same turns (a new thread each, `InMemorySaver`, `durability="sync"`), one
after the other, under a 1 ms sampling profiler. The profile of each is written to
`profile-ours.txt` / `profile-floor.txt`; the table lists our own functions by the
time per turn spent in them and in the library code they call directly.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from pyinstrument import Profiler

from bench import peers
from bench.env import Env, ask, thread_id
from bench.peers import Tool
from bench.report import Section, Table

OURS_CODE = "/langgraph_failover/"
MODEL_CALL = "(the ChatOpenAI call itself, not ours)"


def _profile(tool: Tool, turns: int) -> Any:
    for _ in range(20):
        tool.invoke(thread_id(), [ask(0)])
    profiler = Profiler(interval=0.001)
    profiler.start()
    for _ in range(turns):
        tool.invoke(thread_id(), [ask(0)])
    profiler.stop()
    return profiler


def _ours(frame: Any, owner: str | None, totals: dict[str, float]) -> None:
    """Charge each frame's time to the innermost function of ours that it runs under.

    A function of ours is charged its whole time less its own functions' (they are
    charged theirs) and less the model call it makes (charged to `MODEL_CALL`), so the
    rows add up to our share of the turn.
    """
    path = frame.file_path or ""
    if OURS_CODE in path and "/testing/" not in path:
        key = f"{path.split(OURS_CODE, 1)[1]}:{frame.function}"
        totals[key] += frame.time
        if owner is not None:
            totals[owner] -= frame.time
        owner = key
    elif (
        owner is not None
        and owner.startswith("nodes/call.py")
        and frame.function in ("invoke", "ainvoke")
    ):
        totals[owner] -= frame.time
        totals[MODEL_CALL] += frame.time
        return
    for child in frame.children:
        _ours(child, owner, totals)


def run(env: Env, out_dir: Path) -> Section:
    """Profile both; write their text profiles; tabulate our functions per turn."""
    env.reset()
    turns = env.size(1000, 20)
    saver = InMemorySaver()
    ours = peers.ours(env.up, env.client, saver, name="ours")
    floor = peers.floor(env.client, saver, name="floor", durability="sync")
    totals: dict[str, float] = defaultdict(float)
    per_turn = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, tool in (("ours", ours), ("floor", floor)):
        profiler = _profile(tool, turns)
        session = profiler.last_session
        assert session is not None
        per_turn[name] = session.duration / turns * 1000
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        (out_dir / f"profile-{name}.txt").write_text(text)
        if name == "ours":
            root = session.root_frame()
            if root is not None:
                _ours(root, None, totals)
    whole = per_turn["ours"] / 1000 * turns
    rows = [[where, f"{seconds / turns * 1000:.3f}", f"{100 * seconds / whole:.1f}"]
            for where, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:15]]  # fmt: skip
    table = Table(
        title=f"Our code on a healthy turn ({turns} turns, InMemorySaver, sync), ms per turn",
        columns=[
            "function in langgraph_failover/ (own time and the library calls it makes)",
            "ms per turn (profiled)",
            "% of our profiled turn",
        ],
        rows=rows,
        notes=[
            f"Whole turn under the profiler: ours {per_turn['ours']:.2f} ms, floor "
            f"{per_turn['floor']:.2f} ms (the profiler's own cost inflates both; compare "
            f"shares, not absolute times). Full trees: `profile-ours.txt`, "
            f"`profile-floor.txt`. Each function's time excludes the functions of ours it "
            f"calls, which have rows of their own."
        ],
    )
    return Section("profile", "Profile of the healthy path", [table], [])
