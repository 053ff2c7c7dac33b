"""The circuit breaker's rules, as pure functions over a plain-dict record.

A record exists only while a provider is unhealthy: `None` means closed. Stores (in
process or Redis) hold records and make the probe claim atomic; these functions decide.

    closed --(quota | long 429 | threshold failures)--> open
    open   --(cooldown over: one probe claimed)-------> probing
    probing --success--> closed      probing --failure--> open again
"""

from __future__ import annotations

import hashlib
from typing import Literal, TypedDict

from llm_failover.errors import Failure
from llm_failover.graph.policy import Policy

Admission = Literal["call", "probe", "skip"]

# Kinds that count toward the consecutive-failure threshold.
_COUNTED = frozenset({"server_error", "timeout", "connection", "auth", "not_found"})


class Circuit(TypedDict):
    """A provider's health while it is failing."""

    failures: int
    """Consecutive failures seen."""
    open_until: float | None
    """Epoch seconds until which no request is made; `None` while below the threshold."""
    reason: str
    """The error kind that last failed."""


def circuit_key(provider: str, base_url: str | None, model: str, api_key: str | None) -> str:
    """Identify one upstream: provider, URL, model and a hash of the key (never the key)."""
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
    return f"{provider}|{base_url or 'default'}|{model}|{digest}"


def admission(record: Circuit | None, now: float) -> Admission:
    """Whether to call: closed calls, open skips, and an expired cooldown allows a probe."""
    if record is None or record["open_until"] is None:
        return "call"
    return "skip" if now < record["open_until"] else "probe"


def after_failure(
    record: Circuit | None, failure: Failure, policy: Policy, now: float, *, retrying: bool
) -> Circuit | None:
    """The record after a failed call (`retrying`: the graph will wait and call again)."""
    kind = failure["kind"]
    failures = (record["failures"] if record else 0) + 1
    probing = record is not None and record["open_until"] is not None
    cooldown: float | None = None
    if kind == "insufficient_quota":
        cooldown = policy.quota_cooldown or None
    elif kind == "rate_limited" and not retrying:
        cooldown = failure["retry_after"] or policy.rate_limit_cooldown
    elif kind in _COUNTED and (probing or failures >= policy.failure_threshold):
        cooldown = policy.failure_cooldown
    if cooldown is None and not (kind in _COUNTED or retrying):
        return record  # a failure that says nothing about health (e.g. quota cooldown 0)
    return {
        "failures": failures,
        "open_until": now + cooldown if cooldown else None,
        "reason": kind,
    }


def ttl(record: Circuit, policy: Policy, now: float) -> float:
    """How long a store should keep the record: past its cooldown, or a counting window."""
    window = max(policy.failure_cooldown, policy.quota_cooldown, policy.rate_limit_cooldown)
    until = record["open_until"]
    return max((until - now) if until else 0.0, 0.0) + window
