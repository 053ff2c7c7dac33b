"""Scenarios 2 and 3: the primary answers every request with a 429.

2. `insufficient_quota`; 3. `rate_limit_exceeded` with `Retry-After: 1` and `: 120`.
For each tool: the first call after the fault appears (fresh state: new circuits, a new
Router), then a steady run of calls from new threads, timed one by one, and how many
requests the primary received. Nobody waits out 120 s here: in that case every sleep of
0.05 s or more that a tool asks `time.sleep` for is skipped and added to its time, so
the table shows what the tool would really take (and the sleeps it asked for).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench import peers
from bench.env import Env, Saver, ask, thread_id
from bench.harness import Case, interleaved, ratio, stats
from bench.peers import Tool, answered_by
from bench.report import Section, Table, ms, times
from langgraph_failover.testing import Behaviour, quota, rate_limited

Factory = Callable[[], Tool]
BACKUP_ALONE = "bound: direct ChatOllama (no failover)"
BACKUP_FLOOR = "bound: LangGraph floor calling ChatOllama"


@dataclass(slots=True)
class Run:
    """One tool's samples in one fault."""

    first: list[float] = field(default_factory=list)
    steady: list[float] = field(default_factory=list)
    calls: int = 0
    primary: int = 0
    steady_primary: int = 0
    """Requests the primary received during the steady calls (its circuit open, for us)."""
    sequence_primary: int = 0
    """Requests the primary received from the last first call and the steady calls after."""
    slept: float = 0.0
    """Seconds of sleep asked for (skipped in the 120 s case), over all calls."""
    served: set[str] = field(default_factory=set)


class _Sleeps:
    """Skips long `time.sleep` calls and adds them up (the 120 s Retry-After case)."""

    def __init__(self, skip: bool) -> None:
        self.skip, self.total = skip, 0.0
        self._real = time.sleep

    def sleep(self, seconds: float) -> None:
        if self.skip and seconds >= 0.05:
            self.total += seconds
            return
        if seconds >= 0.05:
            self.total += seconds
        self._real(seconds)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        time.sleep = self.sleep  # type: ignore[assignment]  # floats are all tools pass
        try:
            yield
        finally:
            time.sleep = self._real


def _call(env: Env, tool: Tool, run: Run, sleeps: _Sleeps) -> float:
    before, slept = env.openai.count(), sleeps.total
    started = time.perf_counter()
    result = tool.invoke(thread_id(), [ask(0)])
    taken = time.perf_counter() - started + (sleeps.total - slept if sleeps.skip else 0.0)
    run.calls += 1
    run.primary += env.openai.count() - before
    run.served.add(answered_by(result))
    return taken


def measure(env: Env, fault: Behaviour, make: Factory, firsts: int, steady: int) -> Run:
    """`firsts` first calls on fresh tools, then `steady` calls on the last one."""
    run, sleeps = Run(), _Sleeps(skip=(fault.retry_after or 0) > 60)
    with sleeps.installed():
        for index in range(firsts):
            env.reset()
            env.openai.always(fault)
            tool = make()
            before_first = run.primary
            run.first.append(_call(env, tool, run, sleeps))
            if index == firsts - 1:
                before = run.primary
                run.steady += [_call(env, tool, run, sleeps) for _ in range(steady)]
                run.steady_primary = run.primary - before
                run.sequence_primary = run.primary - before_first
    run.slept = sleeps.total
    return run


def factories(
    env: Env, savers: tuple[Saver, ...], stack: contextlib.ExitStack, *, bounds: bool = False
) -> dict[str, tuple[Factory, bool]]:
    """Each tool's maker (fresh state on every call) and whether it is slow to fail over.

    `bounds` adds the two lower bounds: the backup called alone, and LangGraph's floor
    graph calling it with the first saver.
    """

    def ours(kind: Saver) -> Factory:
        def make() -> Tool:
            saver = stack.enter_context(env.saver(kind))
            return peers.ours(env.up, env.client, saver, name=f"ours [{kind}]")

        return make

    out: dict[str, tuple[Factory, bool]] = {f"ours [{k}]": (ours(k), False) for k in savers}
    if bounds:
        # Not failover tools: what answering from the backup costs with no failover at
        # all, alone and inside LangGraph's one-node floor graph with the same saver.
        ollama = peers.backup(env.up)
        out[BACKUP_ALONE] = (lambda: peers.direct(ollama, BACKUP_ALONE), False)

        def floor() -> Tool:
            saver = stack.enter_context(env.saver(savers[0]))
            return peers.floor(ollama, saver, name=BACKUP_FLOOR)

        out[BACKUP_FLOOR] = (floor, False)
    out["with_fallbacks (default retries)"] = (
        lambda: peers.with_fallbacks(env.up, max_retries=None), True)  # fmt: skip
    out["with_fallbacks (max_retries=0)"] = (
        lambda: peers.with_fallbacks(env.up, max_retries=0), False)  # fmt: skip
    routers: tuple[tuple[str, dict[str, Any], bool], ...] = (
        ("default", {}, True),
        ("num_retries=0", {"num_retries": 0}, False),
        ("allowed_fails=1", {"allowed_fails": 1}, True),
    )
    for label, settings, slow in routers:
        out[f"LiteLLM Router ({label})"] = (_router(env, label, settings), slow)
    return out


def _router(env: Env, label: str, settings: dict[str, Any]) -> Factory:
    return lambda: peers.litellm_router(env.up, label, **settings)


def scenario(env: Env, title: str, fault: Behaviour, savers: tuple[Saver, ...]) -> Section:
    """Measure every tool against `fault`; tabulate with ratios to our first saver."""
    runs: dict[str, Run] = {}
    with contextlib.ExitStack() as stack:
        bounds = fault.kind == "quota"
        for name, (make, slow) in factories(env, savers, stack, bounds=bounds).items():
            firsts = env.size(5, 1) if slow or fault.retry_after == 1 else env.size(30, 3)
            steady = env.size(5, 2) if slow else env.size(100, 5)
            if fault.retry_after == 1 and not slow:
                steady = env.size(20, 3)
            runs[name] = measure(env, fault, make, firsts, steady)
    section = _section(title, runs, f"ours [{savers[0]}]", fault)
    if fault.kind == "quota":
        section.findings.append(_sticky(env, fault, savers[0]))
    return section


def _sticky(env: Env, fault: Behaviour, kind: Saver) -> str:
    """A failed-over thread's next turn, against LangGraph's floor graph on the backup.

    The turn after a failover enters at the backup (the thread's `sticky` record): no
    step at the primary, no request to it.
    """
    env.reset()
    env.openai.always(fault)
    rounds = env.size(200, 5)
    with env.saver(kind) as ours_saver, env.saver(kind) as floor_saver:
        ours = peers.ours(env.up, env.client, ours_saver, name="ours")
        floor = peers.floor(peers.backup(env.up), floor_saver, name="floor")

        def second_turn(tool: Tool) -> Case:
            def prepare() -> Callable[[], Any]:
                thread = thread_id()
                tool.invoke(thread, [ask(0)])  # turn 1, untimed: ours fails over here
                return lambda: tool.invoke(thread, [ask(1)])

            return prepare

        before = env.openai.count()
        samples = interleaved({"ours": second_turn(ours), "floor": second_turn(floor)}, rounds)
        primary = env.openai.count() - before
    sticky, bound = stats(samples["ours"]).median, stats(samples["floor"]).median
    return (
        f"a failed-over thread's next turn (ours [{kind}], entering at the backup): "
        f"{sticky:.2f} ms, {sticky - bound:+.2f} ms over LangGraph's floor graph calling "
        f"the backup with the same saver ({bound:.2f} ms); {primary} primary "
        f"request{'' if primary == 1 else 's'} in {rounds} such threads (their first "
        f"turns included, the circuit open after the first)."
    )


def _section(title: str, runs: dict[str, Run], reference: str, fault: Behaviour) -> Section:
    ours = runs[reference]
    base_first, base_steady = stats(ours.first).median, stats(ours.steady).median
    rows = []
    for name, run in runs.items():
        first, steady = stats(run.first), stats(run.steady)
        rows.append([name, ms(first.median), ms(first.p99), ms(steady.median), ms(steady.p99),
                     f"{_per_100(run):.0f}", f"{run.slept / run.calls:.1f}",
                     ", ".join(sorted(run.served)), times(ratio(first.median, base_first)),
                     times(ratio(steady.median, base_steady)),
                     f"{len(run.first)}/{len(run.steady)}"])  # fmt: skip
    columns = ["tool", "first call median", "first p99", "steady median", "steady p99",
               "primary requests per 100 calls", "sleep asked per call (s)", "answered by",
               f"first vs {reference}", f"steady vs {reference}",
               "samples first/steady"]  # fmt: skip
    notes = [
        "Times in ms until the backup's answer; steady: the calls after the first, each "
        "from a new thread (a circuit is process-wide, a Router keeps its state)."
    ]
    if (fault.retry_after or 0) > 60:
        notes.append("Sleeps a tool asked for were skipped and are counted in its time.")
    table = Table(title=title, columns=columns, rows=rows, notes=notes)
    key = "quota" if fault.kind == "quota" else f"retry_after_{fault.retry_after:g}"
    return Section(key, title, [table], _findings(runs, reference, fault))


def _per_100(run: Run) -> float:
    """Primary requests per 100 calls, over one first call and the steady calls after it."""
    return 100 * run.sequence_primary / (1 + len(run.steady))


def _findings(runs: dict[str, Run], reference: str, fault: Behaviour) -> list[str]:
    ours = runs[reference]
    first = stats(ours.first).median
    out = [f"{reference}: first call {first:.2f} ms, then {_per_100(ours):.0f} "
           f"primary requests per 100 calls."]  # fmt: skip
    if fault.kind == "quota":
        peer = stats(runs["with_fallbacks (default retries)"].first).median
        best_litellm = min(stats(r.first).median for n, r in runs.items() if "LiteLLM" in n)
        open_primary = ours.steady_primary
        out += [
            f"vs with_fallbacks (default retries): {ratio(peer, first):,.0f}x faster.",
            f"vs the fastest LiteLLM Router setting: {ratio(best_litellm, first):,.1f}x faster.",
            f"requests to the primary while its circuit is open: {open_primary}.",
        ]
        if BACKUP_FLOOR in runs:
            bound = stats(runs[BACKUP_FLOOR].first).median
            alone = stats(runs[BACKUP_ALONE].first).median
            out.append(
                f"the ceiling for any LangGraph graph here: its one-node floor, calling the "
                f"backup directly with no failover at all, takes {bound:.2f} ms "
                f"(the backup's request alone: {alone:.2f} ms), so no graph can be more than "
                f"{ratio(peer, bound):,.0f}x faster than with_fallbacks (default retries) on "
                f"this machine; ours is at {ratio(peer, first):,.0f}x on the first call "
                f"and {ratio(peer, stats(ours.steady).median):,.0f}x with the circuit open."
            )
    return out


def run(env: Env) -> list[Section]:
    """Scenario 2 and both cases of scenario 3."""
    return [
        scenario(env, "2. Primary out of quota (429 insufficient_quota)", quota(),
                 ("memory", "none", "sqlite")),
        scenario(env, "3a. Primary rate-limited, Retry-After 1 s",
                 rate_limited(retry_after=1), ("memory",)),
        scenario(env, "3b. Primary rate-limited, Retry-After 120 s",
                 rate_limited(retry_after=120), ("memory",)),
    ]  # fmt: skip
