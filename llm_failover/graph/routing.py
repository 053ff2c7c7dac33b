"""Routers: pure functions of state that pick the next node.

They read what the provider nodes recorded (`attempts`, `sticky`), never an exception
object, so a run resumed from a checkpoint routes exactly as the original would have.
`should_retry` is also read by the provider node, so that the circuit and the route never
disagree about whether a rate-limited provider gets its one retry. The run's settings
(`run.Run`: which providers, which policy) come from the run's context, never from state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import END

from llm_failover.graph.policy import Policy
from llm_failover.graph.run import Run
from llm_failover.graph.state import Attempt, RouteState, Skip
from llm_failover.kinds import kind_of

GIVE_UP = "all_failed"


def spent(attempts: Sequence[Attempt]) -> float:
    """Seconds this turn has spent so far, on calls and on waits."""
    return sum(a["latency_ms"] + a.get("waited_ms", 0.0) for a in attempts) / 1000


def should_retry(attempts: Sequence[Attempt], policy: Policy) -> bool:
    """A kind retried after its Retry-After (a 429) gets one retry, if the wait fits.

    It must fit the retry budget and what is left of the turn budget.
    """
    if not attempts:
        return False
    last = attempts[-1]
    wait, kind = last.get("retry_after"), kind_of(last["error"])
    if kind is None or kind.retry != "retry_after" or wait is None or wait > policy.retry_budget:
        return False
    if sum(1 for a in attempts if a["node"] == last["node"]) > 1:
        return False  # already retried once this turn
    return spent(attempts) + wait < policy.turn_budget


def after_attempt(state: RouteState, *, node: str, run: Run) -> str:
    """End the turn if `node` answered; retry it once; else the run's next provider."""
    attempts = state.get("attempts") or []
    if attempts and attempts[-1]["ok"]:
        return END
    if should_retry(attempts, run.policy):
        return node
    later = run.route[run.route.index(node) + 1 :] if node in run.route else ()
    return later[0] if later else GIVE_UP


def first_node(state: RouteState, *, run: Run, now: float) -> str:
    """The first node of the run's route this thread does not know to be down."""
    skip = _skips(state)
    for node in run.route:
        if not _skipped(skip.get(node), run.keys[node], now):
            return node
    return run.route[-1]


def thread_skipped(state: RouteState, *, run: Run, now: float) -> list[dict[str, Any]]:
    """The nodes `first_node` skipped this turn (before its first attempt), and why."""
    attempts = state.get("attempts") or []
    first = attempts[0]["node"] if attempts else None
    skip, out = _skips(state), []
    for node in run.route:
        entry = skip.get(node)
        if node == first or entry is None:
            break  # first_node skips only a prefix of the route
        out.append({"node": node, "reason": entry["reason"], "left": entry["until"] - now})
    return out


def _skips(state: RouteState) -> dict[str, Skip]:
    sticky = state.get("sticky")
    return sticky["skip"] if sticky else {}


def _skipped(entry: Skip | None, key: str, now: float) -> bool:
    """A thread skips a node while its entry runs, if learned for the node's upstream."""
    return entry is not None and entry["until"] > now and entry.get("key") == key
