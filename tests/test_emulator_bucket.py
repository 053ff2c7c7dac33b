"""The OpenAI emulator's rate limit: fixed windows, announced on every answer, as OpenAI does."""

from __future__ import annotations

import openai
import pytest

from langgraph_failover.errors import classify
from langgraph_failover.testing import FakeClock, OpenAIEmulator, server_error
from langgraph_failover.testing.ratelimit import charge

HEADERS = ("limit", "remaining", "reset")


def client(emu: OpenAIEmulator) -> openai.OpenAI:
    """The real SDK, no retries of its own."""
    return openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)


def ask(emu: OpenAIEmulator, text: str = "hello", **extra: object) -> dict[str, str]:
    """One chat request; the rate-limit headers of its 200."""
    raw = client(emu).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **extra
    )
    return {k: v for k, v in raw.headers.items() if k.startswith("x-ratelimit-")}


def test_every_answer_carries_the_six_headers(openai_emu: OpenAIEmulator) -> None:
    """Remaining counts go down per request and per charged token; the reset is a duration."""
    clock = FakeClock()
    openai_emu.rate_limits(requests=3, tokens=100, window=60.0, now=clock.now)
    first = ask(openai_emu, "x" * 20)  # 5 tokens
    clock.advance(6)
    second = ask(openai_emu, "hi", max_tokens=10)  # 1 + 10 tokens
    assert first == {
        "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "2",
        "x-ratelimit-reset-requests": "1m0s", "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "95", "x-ratelimit-reset-tokens": "1m0s",
    }  # fmt: skip
    assert second["x-ratelimit-remaining-requests"] == "1"
    assert second["x-ratelimit-remaining-tokens"] == "84"
    assert second["x-ratelimit-reset-requests"] == "54s"


def test_over_the_limit_is_openais_429(openai_emu: OpenAIEmulator) -> None:
    """The 429 is `rate_limit_exceeded` with its headers and a retry-after; it is counted."""
    clock = FakeClock()
    openai_emu.rate_limits(requests=1, window=2.0, now=clock.now)
    ask(openai_emu)
    clock.advance(0.5)
    with pytest.raises(openai.RateLimitError) as caught:
        ask(openai_emu)
    error = caught.value
    assert error.code == "rate_limit_exceeded" and error.type == "requests"
    assert "on requests per min (RPM): Limit 1, Used 1, Requested 1" in error.message
    headers = error.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("2", "1500")
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1.5s"
    assert "x-ratelimit-limit-tokens" not in headers  # a dimension not limited is not sent
    found = classify(error)
    assert found is not None and (found["kind"], found["retry_after"]) == ("rate_limited", 1.5)
    assert openai_emu.limited == 1 and len(openai_emu.requests) == 2


def test_a_refused_request_leaves_the_script_alone(openai_emu: OpenAIEmulator) -> None:
    """The limit refuses before the script is read: the scripted fault is still next."""
    clock = FakeClock()
    openai_emu.rate_limits(requests=1, window=2.0, now=clock.now)
    ask(openai_emu)
    openai_emu.script(server_error())
    with pytest.raises(openai.RateLimitError):
        ask(openai_emu)
    clock.advance(2)
    with pytest.raises(openai.InternalServerError) as caught:
        ask(openai_emu)
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"


def test_tokens_run_out_too(openai_emu: OpenAIEmulator) -> None:
    """A request whose estimate exceeds the tokens left is refused on tokens (TPM)."""
    openai_emu.rate_limits(tokens=10, window=60.0)
    ask(openai_emu, "x" * 32)  # 8 tokens
    with pytest.raises(openai.RateLimitError) as caught:
        ask(openai_emu, "x" * 12)  # 3 more
    assert caught.value.type == "tokens"
    assert "tokens per min (TPM): Limit 10, Used 8, Requested 3" in caught.value.message


def test_a_window_resets_to_its_limit(openai_emu: OpenAIEmulator) -> None:
    """Fixed windows: when one ends, the whole limit is back."""
    clock = FakeClock()
    openai_emu.rate_limits(requests=2, window=10.0, now=clock.now)
    ask(openai_emu)
    ask(openai_emu)
    clock.advance(10)
    assert ask(openai_emu)["x-ratelimit-remaining-requests"] == "1"


def test_streams_carry_the_headers(openai_emu: OpenAIEmulator) -> None:
    """A streamed answer's headers come first, with the same counts."""
    openai_emu.rate_limits(requests=5, window=60.0)
    with client(openai_emu).chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        assert response.headers["x-ratelimit-remaining-requests"] == "4"


def test_reset_lifts_the_limit(openai_emu: OpenAIEmulator) -> None:
    """`reset()` (every test's fixture) turns the limit and its headers off."""
    openai_emu.rate_limits(requests=1, window=60.0)
    ask(openai_emu)
    openai_emu.reset()
    assert ask(openai_emu) == {} and ask(openai_emu) == {}
    assert openai_emu.limited == 0


def test_the_charge_is_openais_estimate() -> None:
    """Characters / 4, rounded up, over every message's text, plus max tokens asked for."""
    body = {"messages": [{"role": "system", "content": "abcde"},
                         {"role": "user", "content": [{"type": "text", "text": "xyz"}]}],
            "max_completion_tokens": 7}  # fmt: skip
    assert charge(body) == 2 + 7
    assert charge({"messages": "nonsense", "max_tokens": "many"}) == 0


def test_a_window_must_last() -> None:
    """A window of no length is a test's mistake: refused at once."""
    with pytest.raises(ValueError, match="more than 0 seconds"):
        OpenAIEmulator().rate_limits(requests=1, window=0)
