"""Routers: pure functions of state that pick the next node.

They read what the provider nodes recorded (`attempts`, `sticky`), never an exception
object, so a run resumed from a checkpoint routes exactly as the original would have.
`should_retry` is also read by the provider node, so that the circuit and the route never
disagree about whether a rate-limited provider gets its one retry. The run's settings
(`run.Run`: which providers, which policy) come from the run's context, never from state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from langgraph.graph import END

from langgraph_failover.graph.policy import Policy
from langgraph_failover.graph.run import Run
from langgraph_failover.graph.state import Attempt, RouteState
from langgraph_failover.kinds import kind_of

GIVE_UP = "all_failed"


def spent(attempts: Sequence[Attempt]) -> float:
    """Seconds this turn has spent so far, on calls and on waits."""
    return sum(a["latency_ms"] + a.get("waited_ms", 0.0) for a in attempts) / 1000


def should_retry(attempts: Sequence[Attempt], policy: Policy) -> bool:
    """Whether the router sends the turn back to the node whose attempt just failed.

    A `Retry-After` (a 429's, a 503's) gets one retry when it fits the retry budget; a
    transient server fault (its attempt has a `backoff`) up to `policy.server_retries`.
    Either wait must fit what is left of the turn budget.
    """
    if not attempts:
        return False
    last = attempts[-1]
    kind = kind_of(last["error"])
    if kind is None or kind.retry not in ("retry_after", "backoff"):
        return False
    tries = sum(1 for a in attempts if a["node"] == last["node"])
    wait = last.get("retry_after")
    if wait is not None:
        allowed = 1 if wait <= policy.retry_budget else 0
    elif kind.retry == "backoff" and (wait := last.get("backoff")) is not None:
        allowed = policy.server_retries
    else:
        return False
    return tries <= allowed and spent(attempts) + wait < policy.turn_budget


def pause(attempt: Attempt) -> float:
    """Seconds to wait before retrying `attempt`'s provider: its Retry-After, else backoff."""
    wait = attempt.get("retry_after")
    return wait if wait is not None else attempt.get("backoff") or 0.0


BACKOFF = (0.2, 0.5)
"""The range of the backoff before retrying a transient server fault, in seconds.

Long enough for a proxy to pick another replica or a blip to pass, short beside a turn
budget and a failover; jittered so that workers hit by one blip do not retry in step.
"""


def backoff(turn: str, node: str, step: int) -> float:
    """The jittered backoff for this turn's attempt at `node` on `step`.

    Derived from those, not drawn at random: a run resumed from its checkpoint, or a
    test, sees the same wait, while different turns still spread out.
    """
    digest = hashlib.blake2b(f"{turn}|{node}|{step}".encode(), digest_size=4).digest()
    low, high = BACKOFF
    return round(low + (high - low) * int.from_bytes(digest) / 2**32, 3)


def after_attempt(state: RouteState, *, node: str, run: Run) -> str:
    """End the turn if `node` answered; retry it once; else the run's next provider.

    The turn goes on from the last attempt's node: a hedged node records its backup's
    attempt last when neither answered (`nodes/hedge.py`), so the route resumes after it.
    """
    attempts = state.get("attempts") or []
    if attempts and attempts[-1]["ok"]:
        return END
    node = attempts[-1]["node"] if attempts else node
    if should_retry(attempts, run.policy):
        return node
    later = run.route[run.route.index(node) + 1 :] if node in run.route else ()
    return later[0] if later else GIVE_UP
