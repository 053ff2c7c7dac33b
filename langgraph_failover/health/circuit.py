"""The circuit breaker's rules, as pure functions over a plain-dict record.

A record exists only while a provider is unhealthy: `None` means closed. Stores (in
process or Redis) apply these transitions atomically to the record they hold, so two
requests finishing at once cannot undo each other; these functions decide.

    closed --(quota | long 429 | threshold failures)--> open
    open   --(cooldown over: one probe claimed)-------> probing
    probing --success--> closed      probing --failure--> open again

What each error kind does to a record (counts, opens, for which cooldown) is its entry in
`kinds.KINDS`; these functions apply it.

Two rules keep concurrent outcomes honest: an update never shortens an opening that is
still running (a slow timeout must not cut a fresh 300-second quota opening to 30), and
only the probe, or a request finishing while the circuit is not open, closes it.

Records are shared by every caller, so only the graph's own policy writes them. A run
with a stricter policy of its own reads them through `stricter`, which may make that
run skip a provider the graph would still call, and never the other way round.
"""

from __future__ import annotations

import hashlib
from typing import Literal, NotRequired, TypedDict

from langgraph_failover.errors import Failure
from langgraph_failover.graph.policy import Policy
from langgraph_failover.kinds import KINDS, kind_of
from langgraph_failover.secrets import fingerprint, split_url

Admission = Literal["call", "probe", "skip"]
Change = Literal["opened", "closed"]

MAX_RETRY_AFTER = 3600.0
"""The longest an upstream's Retry-After may keep a circuit open, in seconds."""


class Circuit(TypedDict):
    """A provider's health while it is failing."""

    failures: int
    """Consecutive counted failures (`kinds.Kind.counted`)."""
    open_until: float | None
    """Epoch seconds until which no request is made; `None` while below the threshold."""
    reason: str
    """The error kind that last failed."""
    since: NotRequired[float]
    """Epoch seconds of that failure (records written before it was kept lack it)."""


def circuit_key(provider: str, base_url: str | None, model: str, api_key: str | None) -> str:
    """Identify one upstream: provider, URL, model and a hash of the key (never the key).

    A URL's credentials are not in it either: the URL without them, and their slow hash
    after the key's (the key is in every thread's `sticky` record).
    """
    url, auth = split_url(base_url)
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
    if auth is not None:
        digest = f"{digest}.{fingerprint(auth)}"
    return f"{provider}|{url or 'default'}|{model}|{digest}"


def admission(record: Circuit | None, now: float) -> Admission:
    """Whether to call: closed calls, open skips, and an expired cooldown allows a probe."""
    if record is None or record["open_until"] is None:
        return "call"
    return "skip" if now < record["open_until"] else "probe"


_COOLDOWNS = {
    "quota": "quota_cooldown",
    "retry_after": "rate_limit_cooldown",
    "failure": "failure_cooldown",
}
"""The `Policy` field each kind of cooldown (`kinds.Kind.cooldown`) is set by."""


def after_failure(
    record: Circuit | None, failure: Failure, policy: Policy, now: float, *, probing: bool
) -> Circuit | None:
    """The record after a failed call (a rate-limited call about to be retried has none)."""
    kind = KINDS[failure["kind"]]
    if not kind.provider_error:
        return record  # no request was made: nothing learned about the provider
    failures = (record["failures"] if record else 0) + (1 if kind.counted else 0)
    cooldown: float | None = None
    if kind.cooldown == "quota":
        cooldown = policy.quota_cooldown or None
    elif kind.cooldown == "retry_after":
        # An upstream's Retry-After is believed only up to the longest cooldown we allow.
        cooldown = min(failure["retry_after"] or policy.rate_limit_cooldown, MAX_RETRY_AFTER)
    elif kind.cooldown == "failure" and (probing or failures >= policy.failure_threshold):
        cooldown = policy.failure_cooldown
    until = now + cooldown if cooldown else None
    if record and record["open_until"] and record["open_until"] > now:
        until = max(until or 0.0, record["open_until"])  # never shorten a running opening
    if until is None and failures == 0:
        return record  # says nothing about health (e.g. quota with the circuit off)
    return {"failures": failures, "open_until": until, "reason": kind.name, "since": now}


def stricter(record: Circuit | None, policy: Policy, shared: Policy, now: float) -> bool:
    """Whether a run's own `policy` skips a provider the graph's (`shared`) would call.

    The record's facts (last failure, when, how many) judged by the fields the run changed.
    """
    since = record.get("since") if record else None
    if record is None or since is None:
        return False
    kind = kind_of(record["reason"])
    field = _COOLDOWNS.get(kind.cooldown or "") if kind else None
    if kind is None or field is None:
        return False  # a reason this release does not know, or one with no cooldown
    cooldown: float = getattr(policy, field)
    changed = cooldown != getattr(shared, field)
    if kind.cooldown == "failure":
        if record["failures"] < policy.failure_threshold:
            return False
        changed = changed or policy.failure_threshold != shared.failure_threshold
    return changed and now < since + cooldown


def after_success(record: Circuit | None, now: float, *, probing: bool) -> Circuit | None:
    """The record after an answer: closed, unless it opened while this call was running."""
    if record is None or probing or not record["open_until"] or record["open_until"] <= now:
        return None
    return record


def change(old: Circuit | None, new: Circuit | None, now: float) -> Change | None:
    """Whether an update opened the circuit (a failed probe reopens it), closed it, or neither.

    An opening made longer is no change; a record left open (a probe's claim given back)
    neither; a record counting failures below the threshold is closed.
    """
    old_until = old["open_until"] if old else None
    new_until = new["open_until"] if new else None
    if new_until is not None and new_until > now and not (old_until and old_until > now):
        return "opened"
    if old_until is not None and new_until is None:
        return "closed"
    return None


def ttl(record: Circuit, policy: Policy, now: float) -> float:
    """How long a store keeps the record: past its cooldown, or a counting window."""
    window = max(policy.failure_cooldown, policy.quota_cooldown, policy.rate_limit_cooldown)
    until = record["open_until"]
    return max((until - now) if until else 0.0, 0.0) + window
