"""The budget rules (`pacing.budget`): pure functions over plain dicts, judged one by one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_failover.pacing.budget import (
    POLL,
    Budget,
    decide,
    empty,
    exhausted,
    keep_for,
    observe,
    reserve,
    settle,
)
from langgraph_failover.pacing.headers import Observed, Window, observed
from langgraph_failover.testing.ratelimit import Bucket

NOW = 1_800_000_000.0
HOLD = 1000.0


def window(remaining: int, reset_in: float, limit: int = 5) -> Window:
    """A window with `remaining` of `limit` left, resetting `reset_in` seconds after NOW."""
    return {"limit": limit, "remaining": remaining, "reset_at": NOW + reset_in}


def budget(requests: Window | None = None, tokens: Window | None = None) -> Budget:
    """A record that heard `requests` and `tokens`, nothing in flight."""
    return {**empty(), "requests": requests, "tokens": tokens, "heard": True}


def seen(requests: Window | None = None, tokens: Window | None = None) -> Observed:
    """What one answer said."""
    return {"requests": requests, "tokens": tokens}


def test_a_spent_budget_waits_for_its_reset_and_says_so() -> None:
    """0 requests left, reset in 2.4 s: wait 2.4 s; the detail names the header."""
    verdict = decide(budget(window(0, 2.4, limit=20)), 10, NOW)
    assert (verdict.action, verdict.wait) == ("wait", pytest.approx(2.4))
    assert verdict.detail == (
        "paced: 0 of 20 requests left until 2.4 s from now (x-ratelimit-reset-requests)"
    )


def test_too_few_tokens_wait_too() -> None:
    """Fewer tokens left than the call's estimate: wait for the tokens' reset."""
    verdict = decide(budget(window(3, 1), window(100, 7.5, limit=4000)), 150, NOW)
    assert (verdict.action, verdict.wait) == ("wait", 7.5)
    assert "100 of 4000 tokens left, 150 needed, until 7.5 s" in verdict.detail


def test_after_the_reset_the_limit_is_back() -> None:
    """Fixed windows: once the reset passed, the whole limit is there again."""
    assert decide(budget(window(0, 2)), 10, NOW + 1.9).action == "wait"
    assert decide(budget(window(0, 2)), 10, NOW + 2).action == "go"


def test_calls_in_flight_count_against_what_remains() -> None:
    """Two left, two reserved: the third waits; one settled gives its place back."""
    record: Budget = budget(window(2, 5))
    for ticket in ("a", "b"):
        record, verdict = reserve(record, ticket, 1, NOW, HOLD)
        assert verdict.action == "go"
    record, verdict = reserve(record, "c", 1, NOW, HOLD)
    assert verdict.action == "wait" and "(2 in flight)" in verdict.detail
    record = settle(record, "a", [], heard=True, now=NOW)
    assert reserve(record, "c", 1, NOW, HOLD)[1].action == "go"


def test_in_flight_fill_a_reset_window_briefly() -> None:
    """After a reset, more in flight than the limit: poll, rather than overspend."""
    record: Budget = budget(window(0, 1, limit=1))
    record, _ = reserve(record, "a", 1, NOW + 2, HOLD)
    verdict = decide(record, 1, NOW + 2)
    assert (verdict.action, verdict.wait) == ("wait", POLL)


def test_a_crashed_reservation_lapses() -> None:
    """A reservation never settled stops counting at its expiry."""
    record, _ = reserve(budget(window(1, 50)), "lost", 1, NOW, 10.0)
    assert decide(record, 1, NOW + 5).action == "wait"
    assert decide(record, 1, NOW + 10).action == "go"


def test_cold_start_lets_one_call_out_first() -> None:
    """Nothing known: the first call goes, the others wait for its headers."""
    record, first = reserve(None, "first", 1, NOW, HOLD)
    assert first.action == "go" and record["pioneer"] == "first"
    assert decide(record, 1, NOW).action == "cold"
    record = settle(record, "first", [(seen(window(4, 5)), NOW)], heard=True, now=NOW)
    assert decide(record, 1, NOW).action == "go"


def test_an_upstream_without_headers_is_not_held_back() -> None:
    """Heard without headers: every call goes, none waits for a pioneer."""
    record, _ = reserve(None, "first", 1, NOW, HOLD)
    record = settle(record, "first", [], heard=True, now=NOW)
    for ticket in "abc":
        record, verdict = reserve(record, ticket, 1, NOW, HOLD)
        assert verdict.action == "go"


def test_within_one_window_the_lowest_remaining_wins() -> None:
    """Answers arrive out of order: a later, higher count does not undo a lower one."""
    record = observe(budget(window(3, 5)), seen(window(4, 5)), NOW)
    assert record["requests"] == window(3, 5)


def test_a_later_window_replaces_and_an_earlier_one_is_ignored() -> None:
    """Past the reset the new window counts; late news of the old one changes nothing."""
    record = observe(budget(window(0, 5)), seen(window(4, 15)), NOW + 6)
    assert record["requests"] == window(4, 15)
    assert observe(record, seen(window(0, 5)), NOW + 4)["requests"] == window(4, 15)


def test_exhausted_is_for_the_entry_edge() -> None:
    """Requests spent beyond what may be waited: a reason; within it, or tokens only: none."""
    spent = budget(window(0, 30, limit=20))
    assert exhausted(spent, NOW) == (
        "paced: 0 of 20 requests left until 30.0 s from now (x-ratelimit-reset-requests)"
    )
    assert exhausted(spent, NOW, wait_up_to=30) is None
    assert exhausted(budget(window(1, 30), window(0, 30)), NOW) is None
    assert exhausted(None, NOW) is None


def test_records_are_kept_past_their_resets() -> None:
    """A store keeps a record a while past its last reset or reservation."""
    assert keep_for(budget(window(0, 30)), NOW) == 90.0


Op = tuple[str, int]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.integers(1, 40)),
        st.tuples(st.just("settle"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.integers(1, 30)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    requests=st.integers(1, 6), tokens=st.integers(40, 200), window_s=st.integers(1, 20),
    ops=OPS,
)  # fmt: skip
def test_the_budget_is_never_overspent(
    requests: int, tokens: int, window_s: int, ops: list[Op]
) -> None:
    """Any order of calls, answers and waits: a call let go is never refused by the limit.

    The upstream is the emulator's own fixed-window bucket; the caller only reserves,
    settles what it heard (read up to 0.2 s late, as a busy loop reads it), and waits,
    as the node does.
    """
    now = [NOW]
    bucket = Bucket(requests, tokens, float(window_s), now=lambda: now[0])
    record: Budget | None = None
    out: list[tuple[str, dict[str, Any], float]] = []
    for number, (op, value) in enumerate(ops):
        if op == "call":
            record, verdict = reserve(record, str(number), value, now[0], HOLD)
            if verdict.action == "go":
                headers, over = bucket.take(value)
                assert over is None, f"overspent: {over}"
                out.append((str(number), headers, now[0]))
        elif op == "settle" and out:
            ticket, headers, at = out.pop(value % len(out))
            at += (value % 3) / 10  # read late: the reset seems later than it is
            found = observed(headers, at)
            record = settle(record, ticket, [(found, at)] if found else [], heard=True,
                            now=now[0])  # fmt: skip
        elif op == "wait":
            now[0] += value / 10


def test_a_reset_read_late_is_still_the_same_window() -> None:
    """Headers read 140 ms late (a busy loop) put the reset later: still one window."""
    record = observe(budget(window(18, 5.14)), seen(window(10, 5.0)), NOW)
    assert record["requests"] == window(10, 5.14)
