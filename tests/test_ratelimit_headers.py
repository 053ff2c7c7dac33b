"""Reading OpenAI's `x-ratelimit-*` headers: durations and budgets, whatever was sent."""

from __future__ import annotations

import pytest

from langgraph_failover.pacing.headers import MAX_RESET, duration, observed
from langgraph_failover.testing.ratelimit import go_duration

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("2.4s", 2.4),
        ("59m59.999s", 3599.999),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("1500us", 0.0015),
        ("2", 2.0),  # a bare number is seconds (some compatible servers send it)
        (" 7s ", 7.0),
        ("24h0m0s", MAX_RESET),
    ],
)
def test_durations_are_read(text: str, seconds: float) -> None:
    """OpenAI's (Go-style) durations, as its docs and answers spell them, give seconds."""
    assert duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "soon", "s", "1x", "-1s", "1s2", "1.s", "nan", "inf", "1e3s", "25h", "99999999999h",
     "1s 2m", "1,5s", None],
)  # fmt: skip
def test_garbage_durations_are_ignored(text: str | None) -> None:
    """Anything that is not a duration within a day reads as none: never raised."""
    assert duration(text) is None


@pytest.mark.parametrize("seconds", [0.0, 0.02, 0.5, 1.0, 2.4, 59.5, 60.0, 360.0, 3723.5, 86_399.0])
def test_the_emulators_durations_read_back(seconds: float) -> None:
    """What the emulator writes (`6m0s`, `20ms`...) is what the client reads."""
    assert duration(go_duration(seconds)) == pytest.approx(seconds, abs=0.001)


def test_go_duration_spells_as_openai_does() -> None:
    """`1s`, `6m0s`, `20ms`, `1h2m3.5s`: the spellings of OpenAI's own headers."""
    assert [go_duration(s) for s in (1.0, 360.0, 0.02, 3723.5)] == [
        "1s", "6m0s", "20ms", "1h2m3.5s"
    ]  # fmt: skip


FULL = {
    "x-ratelimit-limit-requests": "20",
    "x-ratelimit-remaining-requests": "19",
    "x-ratelimit-reset-requests": "3s",
    "x-ratelimit-limit-tokens": "4000",
    "x-ratelimit-remaining-tokens": "3950",
    "x-ratelimit-reset-tokens": "6m0s",
}


def test_the_six_headers_give_both_windows() -> None:
    """Limits, remaining counts and resets as epoch seconds, per dimension."""
    assert observed(FULL, NOW) == {
        "requests": {"limit": 20, "remaining": 19, "reset_at": NOW + 3},
        "tokens": {"limit": 4000, "remaining": 3950, "reset_at": NOW + 360},
    }


@pytest.mark.parametrize(
    ("changed", "requests", "tokens"),
    [
        ({"x-ratelimit-reset-requests": "later"}, None, True),  # no reset: no window
        ({"x-ratelimit-remaining-requests": "-1"}, None, True),
        ({"x-ratelimit-remaining-requests": "1" * 14}, None, True),  # absurdly large
        ({"x-ratelimit-remaining-tokens": "a lot"}, True, None),
        ({"x-ratelimit-limit-requests": "many"}, {"limit": None, "remaining": 19}, True),
        ({"x-ratelimit-remaining-requests": "25"}, {"limit": 20, "remaining": 20}, True),
    ],
)
def test_a_bad_header_drops_its_dimension_only(
    changed: dict[str, str], requests: object, tokens: object
) -> None:
    """A malformed value loses that dimension (or its limit), never the other, never raises."""
    found = observed({**FULL, **changed}, NOW)
    assert found is not None
    for got, expected in ((found["requests"], requests), (found["tokens"], tokens)):
        if expected is None:
            assert got is None
        elif isinstance(expected, dict):
            assert got is not None and {k: got[k] for k in expected} == expected  # type: ignore[literal-required]
        else:
            assert got is not None


def test_no_rate_limit_headers_say_nothing() -> None:
    """An answer without them (Ollama, vLLM) gives no budget at all."""
    assert observed({"content-type": "application/json"}, NOW) is None
