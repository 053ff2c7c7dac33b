"""A rate limit for the OpenAI emulator: fixed windows of requests and tokens, announced.

As api.openai.com does, every answer carries the six `x-ratelimit-*` headers while the
limit is on, and a request over it gets a 429 `rate_limit_exceeded` naming the limit it
broke, with `retry-after`. A window resets to its initial state when it ends (OpenAI:
"the time until the rate limit resets to its initial state"). A request is charged before
it is answered, as OpenAI does: one request, and its prompt's tokens estimated as
characters / 4 plus the `max_tokens` it asks for. `Bucket` counts; `RateLimits` is the
emulator's side (`OpenAIEmulator.rate_limits(...)`, `.limited`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from aiohttp import web

from langgraph_failover.testing.behaviours import Behaviour, rate_limited

DIMENSIONS = ("requests", "tokens")


def go_duration(seconds: float) -> str:
    """Seconds as OpenAI writes a reset: `20ms`, `1s`, `2.4s`, `6m0s`, `1h2m3.5s`.

    Rounded up to the millisecond: a caller waiting that long never comes back early.
    """
    seconds = math.ceil(max(seconds, 0.0) * 1000 - 1e-6) / 1000
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{round(secs, 3):g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text


def charge(body: dict[str, Any]) -> int:
    """The tokens a request is charged before it is answered (OpenAI's own estimate)."""
    chars = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    most = body.get("max_completion_tokens") or body.get("max_tokens") or 0
    return math.ceil(chars / 4) + (most if isinstance(most, int) else 0)


class Over(NamedTuple):
    """A request the bucket refused: which limit, its figures, and the wait until reset."""

    dimension: str
    limit: int
    used: int
    requested: int
    wait: float


class Bucket:
    """Fixed windows of `requests` and `tokens` (None: that one unlimited), thread-safe."""

    def __init__(
        self,
        requests: int | None,
        tokens: int | None,
        window: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if window <= 0:
            raise ValueError(f"a window lasts more than 0 seconds, got {window!r}")
        self.limits = {"requests": requests, "tokens": tokens}
        self.window, self._now = window, now
        self._start, self._index = now(), 0
        self._used = {"requests": 0, "tokens": 0}
        self._lock = threading.Lock()
        self.refused = 0
        """How many requests it answered with a 429."""

    def take(self, tokens: int) -> tuple[dict[str, str], Over | None]:
        """Charge one request of `tokens`: the headers to send, and why it was refused."""
        with self._lock:
            now = self._now()
            index = math.floor((now - self._start) / self.window)
            if index != self._index:
                self._index, self._used = index, {"requests": 0, "tokens": 0}
            wait = self._start + (index + 1) * self.window - now
            cost = {"requests": 1, "tokens": tokens}
            over = None
            for name in DIMENSIONS:
                limit = self.limits[name]
                if limit is not None and self._used[name] + cost[name] > limit:
                    over = over or Over(name, limit, self._used[name], cost[name], wait)
            if over is None:
                for name in DIMENSIONS:
                    self._used[name] += cost[name]
            else:
                self.refused += 1
            return self._headers(wait), over

    def _headers(self, wait: float) -> dict[str, str]:
        headers = {}
        for name in DIMENSIONS:
            limit = self.limits[name]
            if limit is not None:
                headers[f"x-ratelimit-limit-{name}"] = str(limit)
                headers[f"x-ratelimit-remaining-{name}"] = str(max(limit - self._used[name], 0))
                headers[f"x-ratelimit-reset-{name}"] = go_duration(wait)
        return headers


_HEADERS = web.RequestKey("llm_failover_ratelimit", dict)
_OVER = web.RequestKey("llm_failover_over", Over)


class RateLimits:
    """The OpenAI emulator's rate limit: set by `rate_limits`, its 429s in `limited`."""

    _bucket: Bucket | None = None

    def rate_limits(
        self,
        requests: int | None = None,
        tokens: int | None = None,
        window: float = 60.0,
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """Limit requests and tokens per fixed `window` of seconds (both None: no limit).

        Every answer then carries the `x-ratelimit-*` headers, and a request over the
        limit gets OpenAI's 429 `rate_limit_exceeded`; `now` may be a test's fake clock.
        `reset()` lifts the limit.
        """
        on = requests is not None or tokens is not None
        self._bucket = Bucket(requests, tokens, window, now) if on else None

    @property
    def limited(self) -> int:
        """How many requests the rate limit refused with a 429 since it was set."""
        return self._bucket.refused if self._bucket else 0

    def charge(self, request: web.Request, body: dict[str, Any]) -> Behaviour | None:
        """Charge the request to the rate limit, if one is set; refused: a 429."""
        if (bucket := self._bucket) is None:
            return None
        request[_HEADERS], over = bucket.take(charge(body))
        if over is None:
            return None
        request[_OVER] = over
        return rate_limited(retry_after=over.wait)

    @staticmethod
    def limit_headers(request: web.Request) -> dict[str, str]:
        """The rate-limit headers of the answer to `request` ({} with no limit set)."""
        return dict(request.get(_HEADERS, {}))

    @staticmethod
    def refusal(request: web.Request) -> Over | None:
        """Why the limit refused `request`, or None."""
        return request.get(_OVER)
