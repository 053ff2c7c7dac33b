"""Routers: pure functions of state that pick the next node.

They read what the provider nodes recorded (`attempts`, `sticky`), never an exception
object, so a run resumed from a checkpoint routes exactly as the original would have.
`should_retry` is also read by the provider node, so that the circuit and the route never
disagree about whether a rate-limited provider gets its one retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langgraph.graph import END

from llm_failover.graph.policy import Policy
from llm_failover.graph.state import Attempt, State


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


def after_attempt(state: State, *, on_failure: str, policy: Policy) -> str:
    """End the turn if the last attempt answered; retry it once; else go to `on_failure`."""
    attempts = state.get("attempts") or []
    if attempts and attempts[-1]["ok"]:
        return END
    if should_retry(attempts, policy):
        return attempts[-1]["node"]
    return on_failure


def first_node(state: State, *, keys: Mapping[str, str], now: float) -> str:
    """The first node of the chain (`keys`, in order) this thread does not skip."""
    sticky = state.get("sticky")
    skip = sticky["skip"] if sticky else {}
    for node, key in keys.items():
        entry = skip.get(node)
        if entry is None or entry["until"] <= now or entry.get("key") != key:
            return node
    return list(keys)[-1]
