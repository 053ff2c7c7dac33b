"""The table of error kinds: complete, consistent, in the docs, and obeyed by its readers.

The readers are `routing.should_retry`, the circuit's rules, the failover log and the
provider node (raise or fail over); each is checked for every kind of the table, so a
new kind is checked without a new test, once it has a fault that provokes it.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langgraph_failover import metrics
from langgraph_failover.graph.policy import Policy
from langgraph_failover.graph.routing import should_retry
from langgraph_failover.graph.state import Attempt
from langgraph_failover.health.circuit import Circuit, after_failure, circuit_key, stricter
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.kinds import KINDS, Kind, policy_table
from langgraph_failover.pacing.budget import Budget
from langgraph_failover.testing import (
    Behaviour,
    FakeClock,
    OpenAIEmulator,
    bad_request,
    context_length,
    cut,
    hang,
    not_found,
    quota,
    rate_limited,
    server_error,
    slow_first_token,
    unauthorized,
)
from tests.conftest import FAKE_KEY, MakeGraph

NOW = 1_800_000_000.0
POLICY = Policy(rate_limit_cooldown=20, failure_cooldown=40)  # every cooldown its own
FAILURE_POLICY = Path(__file__).parent.parent / "docs" / "failure-policy.md"
KIND_NAMES = sorted(KINDS)


def test_the_table_as_it_stands() -> None:
    """Each kind's consequences, spelled out: a changed entry is a decision, not an accident."""
    columns = {
        name: (k.provider_error, k.fails_over, k.retry, k.counted, k.cooldown)
        for name, k in KINDS.items()
    }
    assert columns == {
        "insufficient_quota": (True, True, "never", False, "quota"),
        "rate_limited": (True, True, "retry_after", False, "retry_after"),
        "server_error": (True, True, "backoff", True, "failure"),
        "timeout": (True, True, "never", True, "failure"),
        "connection": (True, True, "backoff", True, "failure"),
        "auth": (True, True, "never", True, "failure"),
        "not_found": (True, True, "never", True, "failure"),
        "context_length": (True, True, "never", False, None),
        "bad_request": (True, False, "never", False, None),
        "tools_unsupported": (True, False, "without_tools", False, None),
        "not_configured": (False, True, "never", False, None),
        "circuit_open": (False, True, "never", False, None),
        "hedged": (False, True, "never", False, None),
        "paced": (False, True, "never", False, None),
    }


def test_an_entry_that_contradicts_itself_is_refused() -> None:
    """An outcome with no request made can only fail over: a cooldown for it is refused."""
    with pytest.raises(ValueError, match="can only fail over"):
        Kind(name="circuit_open", provider_error=False, cooldown="quota", source="x")


def test_failure_policy_page_table_is_the_kinds_table() -> None:
    """The failure-policy page's table is `policy_table()`, verbatim (regenerate it if not)."""
    assert policy_table() in FAILURE_POLICY.read_text(), "stale: run python3 dev.py docs"


def _attempt(kind: str, retry_after: float | None, backoff: float | None = None) -> Attempt:
    """A failed attempt of `kind` on the primary, early in the turn."""
    return {"provider": "openai", "model": "m", "node": "openai", "ok": False, "error": kind,
            "status_code": None, "latency_ms": 10.0, "detail": "x", "retry_after": retry_after,
            "waited_ms": 0.0, "backoff": backoff, "tools_dropped": False, "probe": False,
            "trimmed": None, "truncated": None, "usage": None, "open_until": None, "turn": "t",
            "step": 1}  # fmt: skip


@pytest.mark.parametrize("name", KIND_NAMES)
def test_router_retries_only_the_kinds_the_table_says(name: str) -> None:
    """A short Retry-After is waited out for `retry_after` and `backoff` kinds, no other."""
    waits = KINDS[name].retry in ("retry_after", "backoff")
    assert should_retry([_attempt(name, 1.0)], POLICY) is waits


@pytest.mark.parametrize("name", KIND_NAMES)
def test_router_backs_off_only_for_the_kinds_the_table_says(name: str) -> None:
    """A recorded backoff is a retry for `backoff` kinds only, and only as often as allowed."""
    once = [_attempt(name, None, 0.3)]
    assert should_retry(once, POLICY) is (KINDS[name].retry == "backoff")
    assert not should_retry([*once, _attempt(name, None, 0.3)], POLICY)  # one retry by default
    assert not should_retry(once, dataclasses.replace(POLICY, server_retries=0))


@pytest.mark.parametrize("name", KIND_NAMES)
def test_circuit_counts_and_opens_as_the_table_says(name: str) -> None:
    """One failure below the threshold: counted or not, opened at once or not, untouched."""
    kind = KINDS[name]
    before: Circuit = {"failures": POLICY.failure_threshold - 2, "open_until": None,
                       "reason": "server_error", "since": NOW - 1}  # fmt: skip
    failure: Any = {"kind": name, "status_code": None, "retry_after": None, "detail": ""}
    after = after_failure(before, failure, POLICY, NOW, probing=False)
    if not kind.provider_error:
        assert after is before
        return
    assert after is not None
    assert after["failures"] == before["failures"] + kind.counted
    opens_for = {"quota": POLICY.quota_cooldown, "retry_after": POLICY.rate_limit_cooldown}
    cooldown = opens_for.get(kind.cooldown or "")
    assert after["open_until"] == (NOW + cooldown if cooldown else None)
    # the next counted failure reaches the threshold: only counted kinds open then
    again = after_failure(after, failure, POLICY, NOW, probing=False)
    opened_at_threshold = again is not None and again["open_until"] == NOW + POLICY.failure_cooldown
    assert opened_at_threshold is (kind.cooldown == "failure")


@pytest.mark.parametrize("name", [*KIND_NAMES, "a_kind_from_elsewhere"])
def test_a_runs_stricter_policy_reads_the_cooldown_the_table_names(name: str) -> None:
    """Longer cooldowns of a run skip a provider whose last failure had one; else never."""
    record: Circuit = {"failures": POLICY.failure_threshold, "open_until": None,
                       "reason": name, "since": NOW}  # fmt: skip
    strict = Policy(quota_cooldown=900, rate_limit_cooldown=900, failure_cooldown=900)
    kind = KINDS.get(name)
    expected = kind is not None and kind.cooldown is not None
    assert stricter(record, strict, POLICY, NOW + 600) is expected


@pytest.mark.parametrize("name", KIND_NAMES)
def test_failover_log_level_follows_the_table(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """A failover after a failed request is a WARNING; after no request at all, DEBUG."""
    event = {"type": "failover", "from": "openai", "to": "ollama", "reason": name}
    with caplog.at_level(logging.DEBUG, logger="langgraph_failover"):
        metrics.observe_failover(event, "detail")
    (record,) = caplog.records
    assert record.levelno == (logging.WARNING if KINDS[name].provider_error else logging.DEBUG)


# A fault of the OpenAI emulator (or a setting) that provokes each kind on the primary.
FAULTS: dict[str, Behaviour] = {
    "insufficient_quota": quota(),
    "rate_limited": rate_limited(retry_after=60),  # longer than the retry budget
    "server_error": server_error(500),
    "timeout": hang(seconds=30),
    "connection": cut(after=1),
    "auth": unauthorized(),
    "not_found": not_found(),
    "context_length": context_length(),
    "bad_request": bad_request(),
    "tools_unsupported": bad_request('"gpt-4o-mini" does not support tools'),
}
OPENED: Circuit = {"failures": 0, "open_until": NOW + 100, "reason": "auth", "since": NOW}
SPENT: Budget = {"requests": {"limit": 3, "remaining": 0, "reset_at": NOW + 100},
                 "tokens": None, "flight": {}, "pioneer": None, "heard": True}  # fmt: skip


@pytest.mark.parametrize("name", KIND_NAMES)
def test_the_node_fails_over_or_raises_as_the_table_says(
    name: str, make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """Each kind on the primary, for real: raised or failed over, and its circuit record."""
    kind, store, clock = KINDS[name], MemoryStore(), FakeClock(start=NOW)
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    settings: dict[str, Any] = {"timeout": 0.5, "clock": clock.clock, "circuit_store": store}
    if name == "not_configured":
        settings["openai_api_key"] = None
    elif name == "circuit_open":
        store.update(key, NOW, lambda _: (OPENED, 1000.0))
    elif name == "hedged":  # a slow primary, cancelled when the hedge's backup answers
        openai_emu.script(slow_first_token(2))
        settings["hedge_after"] = 0.1
    elif name == "paced":
        store.pace(key, NOW, lambda _: (SPENT, None))
    else:
        openai_emu.script(FAULTS[name])
    graph = make_graph(**settings)
    if not kind.fails_over:
        with pytest.raises(Exception, match=r"\b400\b"):
            graph.invoke({"messages": [HumanMessage("hi")]})
        assert store.get(key) is None
        return
    state = graph.invoke({"messages": [HumanMessage("hi")]})
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [
        ("openai", name),
        ("ollama", None),
    ]
    record = store.get(key)
    if not kind.provider_error:
        assert record == (OPENED if name == "circuit_open" else None)
        assert len(openai_emu.requests) == (name == "hedged")  # cancelled, or none made
        return
    if kind.cooldown is None:
        assert record is None  # nothing learnt about its health
        return
    assert record is not None and record["failures"] == int(kind.counted)
    assert (record["open_until"] is not None) is (kind.cooldown in ("quota", "retry_after"))
