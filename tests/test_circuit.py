"""The circuit breaker's rules and stores, including what concurrency and time do to them."""

from __future__ import annotations

import pytest

from langgraph_failover.errors import ErrorKind, Failure
from langgraph_failover.graph.policy import Policy
from langgraph_failover.health.circuit import (
    MAX_RETRY_AFTER,
    Circuit,
    admission,
    after_failure,
    after_success,
    stricter,
)
from langgraph_failover.health.store import MemoryStore

NOW = 1_000.0
POLICY = Policy()


def lost(kind: ErrorKind, retry_after: float | None = None) -> Failure:
    """A failure of `kind`."""
    return {"kind": kind, "status_code": None, "retry_after": retry_after, "detail": ""}


def opened(
    until: float | None, failures: int = 0, reason: str = "x", since: float = NOW
) -> Circuit:
    """A record whose last failure was at `since`."""
    return {"failures": failures, "open_until": until, "reason": reason, "since": since}


@pytest.mark.parametrize(
    ("record", "failure", "probing", "expected"),
    [
        (None, lost("insufficient_quota"), False, opened(NOW + 300, 0, "insufficient_quota")),
        (None, lost("rate_limited", 120), False, opened(NOW + 120, 0, "rate_limited")),
        (None, lost("rate_limited"), False, opened(NOW + 30, 0, "rate_limited")),
        (None, lost("server_error"), False, opened(None, 1, "server_error")),
        (opened(None, 2), lost("timeout"), False, opened(NOW + 30, 3, "timeout")),
        (opened(None, 2), lost("insufficient_quota"), False,
         opened(NOW + 300, 2, "insufficient_quota")),
        # a probe's failure reopens at once, below the threshold
        (opened(NOW - 1, 0), lost("connection"), True, opened(NOW + 30, 1, "connection")),
        # a slow timeout finishing after a quota opening does not shorten it
        (opened(NOW + 300, 0), lost("timeout"), False, opened(NOW + 300, 1, "timeout")),
        # an upstream's Retry-After is believed up to a point
        (None, lost("rate_limited", 1e9), False,
         opened(NOW + MAX_RETRY_AFTER, 0, "rate_limited")),
    ],
)  # fmt: skip
def test_after_failure(
    record: Circuit | None, failure: Failure, probing: bool, expected: Circuit
) -> None:
    """Each failure kind opens, counts or reopens the circuit as the policy says."""
    assert after_failure(record, failure, POLICY, NOW, probing=probing) == expected


STRICT = Policy(quota_cooldown=600, rate_limit_cooldown=60, failure_threshold=1,
                failure_cooldown=60)  # fmt: skip


@pytest.mark.parametrize(
    ("record", "policy", "now", "skips"),
    [
        (None, STRICT, NOW, False),
        (opened(None, 1, "server_error"), POLICY, NOW, False),  # the graph's own: no change
        (opened(None, 1, "server_error"), STRICT, NOW + 59, True),  # threshold 1 for this run
        (opened(None, 1, "server_error"), STRICT, NOW + 60, False),  # its cooldown is over
        (opened(None, 1, "insufficient_quota"), STRICT, NOW + 599, True),
        (opened(None, 1, "insufficient_quota"), Policy(quota_cooldown=0), NOW, False),
        (opened(None, 0, "rate_limited"), STRICT, NOW + 30, True),
        (opened(None, 0, "auth"), Policy(failure_cooldown=60), NOW, False),  # below 3
        # a record from before `since` was kept: no facts to judge
        ({"failures": 5, "open_until": None, "reason": "timeout"}, STRICT, NOW, False),
    ],
)
def test_stricter(record: Circuit | None, policy: Policy, now: float, skips: bool) -> None:
    """A run's own policy may skip more than the graph's, judged from the shared facts."""
    assert stricter(record, policy, POLICY, now) is skips


@pytest.mark.parametrize(
    ("record", "probing", "expected"),
    [
        (opened(None, 2), False, None),
        (opened(NOW - 1), True, None),
        (opened(NOW + 300), False, opened(NOW + 300)),  # opened while we were answered
        (opened(NOW + 300), True, None),
    ],
)
def test_after_success(record: Circuit, probing: bool, expected: Circuit | None) -> None:
    """Only the probe, or an answer while the circuit is not open, closes it."""
    assert after_success(record, NOW, probing=probing) == expected


def test_admission() -> None:
    """Closed calls, open skips, an expired cooldown probes."""
    assert admission(None, NOW) == "call"
    assert admission(opened(None, 2), NOW) == "call"
    assert admission(opened(NOW + 1), NOW) == "skip"
    assert admission(opened(NOW), NOW) == "probe"


def test_memory_store_claims_one_probe_and_expires_records() -> None:
    """One probe per cooldown; a record past its TTL is gone (failure counts fade)."""
    store = MemoryStore()
    store.update("k", NOW, lambda _: (opened(NOW + 10), 20))
    assert store.admit("k", NOW + 11, 5)[0] == "probe"
    assert store.admit("k", NOW + 12, 5)[0] == "skip"
    store.release("k")
    assert store.admit("k", NOW + 13, 5)[0] == "probe"
    assert store.get("k", NOW + 19) is not None
    assert store.get("k", NOW + 21) is None
    assert store.admit("k", NOW + 21, 5) == ("call", None)


def test_memory_store_forgets_expired_records_nobody_reads() -> None:
    """A record for a model no one asks for again is dropped by the next sweep."""
    store = MemoryStore()
    store.update("once", NOW, lambda _: (opened(NOW + 10), 20))
    store.update("other", NOW + 100, lambda _: (opened(NOW + 110), 20))
    assert store.count() == 1 and store.get("once") is None


def test_memory_store_is_capped() -> None:
    """Past its cap the soonest-expiring record makes room; the newest is kept."""
    store = MemoryStore(max_records=3)
    for i in range(10):
        store.update(f"k{i}", NOW, lambda _, i=i: (opened(NOW + 10), 100 + i))
    assert store.count() == 3 and store.get("k9") is not None and store.get("k0") is None
