"""Where a turn starts: the first provider of its route not known to be down.

The entry edge skips, without running their nodes, the providers this thread's `sticky`
record skips, those whose shared circuit is open (or open for this run's own stricter
policy), and those whose requests are spent (`pacing.budget.exhausted`: none left
until a reset further off than the run's retry budget; tokens need the request, so the
node judges those): a turn that starts at the backup costs one graph step, as LangGraph's
one-node graph calling the backup does. The node the turn starts at reads the same
reasons again and records the skipped providers as attempts (`circuit_open`, no
request), so the checkpoint says why the turn began where it did, and a run resumed from
it records the same.

Both are generators that yield `("peek", key, now)` for each circuit they read, and
`("budget", key, now)` for each rate-limit budget, and receive the record: the entry
edge's sync and async shells, and the provider node's, read it from the store with its
sync or async method.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any, NamedTuple, cast

from langgraph_failover.errors import NO_REQUEST, Failure, seconds_left
from langgraph_failover.graph.run import Run
from langgraph_failover.graph.state import Attempt, RouteState, Skip
from langgraph_failover.health.budgets import BudgetStore
from langgraph_failover.health.circuit import Circuit, admission, stricter
from langgraph_failover.health.store import CircuitStore
from langgraph_failover.kinds import ErrorKind
from langgraph_failover.pacing.budget import exhausted
from langgraph_failover.pacing.headless import Headless

Peek = tuple[str, str, float]
"""`("peek" or "budget", circuit key, now)`: the circuit's record (None: closed), or the
upstream's rate-limit budget (None: nothing known)."""
Paced = Mapping[str, Headless]
"""The paced nodes, each with its memory of upstreams that send no rate-limit headers."""


class Skipped(NamedTuple):
    """A provider the turn does not call, and why."""

    failure: Failure
    open_until: float | None
    by_thread: bool
    """The thread's own `sticky` record skips it (its failover was announced already)."""


def open_detail(record: Circuit, now: float) -> str:
    """Why an open circuit is skipped, with the seconds left (shown by errors later)."""
    until = record["open_until"] or now
    left = seconds_left(until - now) if until > now else "its probe under way"
    return f"circuit open after {record['reason']}, {left}"


def _open(
    detail: str, until: float | None, *, by_thread: bool = False, kind: ErrorKind = "circuit_open"
) -> Skipped:
    failure: Failure = {"kind": kind, "status_code": None, "retry_after": None,
                        "detail": detail + NO_REQUEST}  # fmt: skip
    return Skipped(failure, until, by_thread)


def holds(entry: Skip | None, key: str | None, now: float) -> bool:
    """Whether a thread's skip entry still applies: running, and learned for this upstream."""
    return entry is not None and entry["until"] > now and entry.get("key") == key


def why_skipped(
    node: str, state: RouteState, run: Run, now: float, paced: Paced
) -> Generator[Peek, Any, Skipped | None]:
    """Why the turn does not start at `node` (None: it may)."""
    key = run.keys[node]
    if not key:
        return None  # the mock is never skipped
    sticky = state.get("sticky")
    entry = sticky["skip"].get(node) if sticky else None
    if entry is not None and holds(entry, key, now):
        reason = "" if entry["reason"] == "circuit_open" else f" after {entry['reason']}"
        left = seconds_left(entry["until"] - now)
        detail = f"skipped by this thread, circuit open{reason}, {left}"
        return _open(detail, entry["until"], by_thread=True)
    record = yield ("peek", key, now)
    if record is not None and admission(record, now) == "skip":
        return _open(open_detail(record, now), record["open_until"])
    if record is not None and stricter(record, run.policy, run.shared, now):
        detail = f"circuit open for this run's own policy after {record['reason']}"
        return _open(detail, record["open_until"])
    if (pacer := paced.get(node)) is not None and not pacer.quiet(key, now):
        # Spent until a reset the run could not wait for (the node would skip it too).
        waits = min(run.policy.retry_budget, run.policy.turn_budget)
        if (spent := exhausted((yield ("budget", key, now)), now, waits)) is not None:
            return _open(spent, None, kind="paced")
    return None  # closed, counting failures, or due a probe: the node decides


def first_node(state: RouteState, run: Run, now: float, paced: Paced) -> Generator[Peek, Any, str]:
    """The node the turn starts at: the first of the route that is not skipped.

    The last node is not read: when every other is skipped, the turn goes there, and
    its node records its own outcome (the mock answers; another records `circuit_open`).
    """
    for node in run.route[:-1]:
        if (yield from why_skipped(node, state, run, now, paced)) is None:
            return node
    return run.route[-1]


def skipped_before(
    node: str, state: RouteState, run: Run, now: float, paced: Paced
) -> Generator[Peek, Any, list[tuple[str, Skipped]]]:
    """The route's nodes before `node`, which the entry edge skipped to start there.

    Read again from the same records; one that changed in between (a cooldown that ran
    out a moment ago) is still recorded as skipped, which it was.
    """
    before = run.route[: run.route.index(node)] if node in run.route else ()
    skipped = []
    for other in before:
        why = yield from why_skipped(other, state, run, now, paced)
        skipped.append((other, why or _open("skipped as the turn started", None)))
    return skipped


def skip_attempt(
    node: str, provider: str, skipped: Skipped, *, run: Run, turn: str, step: int
) -> Attempt:
    """The record of a provider the turn skipped without a request."""
    lost = skipped.failure
    return {"provider": provider, "model": run.models[node], "node": node, "ok": False,
            "error": lost["kind"], "status_code": None, "latency_ms": 0.0,
            "detail": lost["detail"], "retry_after": None, "waited_ms": 0.0, "backoff": None,
            "tools_dropped": False, "probe": False, "trimmed": None, "usage": None,
            "truncated": None, "open_until": skipped.open_until, "turn": turn,
            "step": step}  # fmt: skip


def peeked(steps: Generator[Peek, Any, Any], store: CircuitStore) -> Any:
    """Run `steps`, reading each record it asks for with the store's sync methods."""
    record: Any = None
    try:
        while True:
            what, key, now = steps.send(record)
            if what == "peek":
                record = store.peek(key, now)
            else:  # only paced nodes ask, and only a budget store paces
                record = cast(BudgetStore, store).budget(key, now)
    except StopIteration as done:
        return done.value


async def apeeked(steps: Generator[Peek, Any, Any], store: CircuitStore) -> Any:
    """`peeked` for async callers: the store's async methods."""
    record: Any = None
    try:
        while True:
            what, key, now = steps.send(record)
            if what == "peek":
                record = await store.apeek(key, now)
            else:
                record = await cast(BudgetStore, store).abudget(key, now)
    except StopIteration as done:
        return done.value
