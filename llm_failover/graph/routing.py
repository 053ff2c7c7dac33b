"""Routers: pure functions of state that pick the next node.

They read what the provider nodes recorded (`attempts`, `sticky`), never an exception
object, so a run resumed from a checkpoint routes exactly as the original would have.
`should_retry` is also read by the provider node, so that the circuit and the route never
disagree about whether a rate-limited provider gets its one retry. The run's settings
(`run.Run`: which providers, which policy) come from the run's context, never from state.
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.graph import END

from llm_failover.graph.policy import Policy
from llm_failover.graph.run import Run
from llm_failover.graph.state import Attempt, RouteState

GIVE_UP = "all_failed"


def spent(attempts: Sequence[Attempt]) -> float:
    """Seconds this turn has spent so far, on calls and on waits."""
    return sum(a["latency_ms"] + a.get("waited_ms", 0.0) for a in attempts) / 1000


def should_retry(attempts: Sequence[Attempt], policy: Policy) -> bool:
    """A 429 whose Retry-After fits the retry budget and the turn budget gets one retry."""
    if not attempts:
        return False
    last = attempts[-1]
    wait = last.get("retry_after")
    if last["error"] != "rate_limited" or wait is None or wait > policy.retry_budget:
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
    sticky = state.get("sticky")
    skip = sticky["skip"] if sticky else {}
    for node in run.route:
        entry = skip.get(node)
        if entry is None or entry["until"] <= now or entry.get("key") != run.keys[node]:
            return node
    return run.route[-1]
