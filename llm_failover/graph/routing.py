"""Routers: pure functions of state that pick the next node after a provider call.

They read the outcome the provider node recorded (`attempts[-1]`), never an exception
object, so a run resumed from a checkpoint routes exactly as the original would have.
"""

from __future__ import annotations

from langgraph.graph import END

from llm_failover.graph.state import State


def after_attempt(state: State, *, on_failure: str) -> str:
    """End the turn if the last attempt answered, else go to `on_failure`."""
    attempts = state.get("attempts") or []
    if attempts and attempts[-1]["ok"]:
        return END
    return on_failure
