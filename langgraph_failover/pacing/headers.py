"""OpenAI's rate-limit headers, read into plain data: never raises, whatever was sent.

    x-ratelimit-limit-requests: 20         x-ratelimit-limit-tokens: 4000
    x-ratelimit-remaining-requests: 19     x-ratelimit-remaining-tokens: 3950
    x-ratelimit-reset-requests: 2.4s       x-ratelimit-reset-tokens: 6m0s

A reset is a Go-style duration (`1s`, `6m0s`, `20ms`, `1h2m3.5s`; a bare number is
seconds). A dimension (requests, tokens) is read only when its remaining count and its
reset both parse; a malformed or absurd value drops that dimension, never the answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TypedDict

NAMES = tuple(
    f"x-ratelimit-{part}-{dimension}"
    for dimension in ("requests", "tokens")
    for part in ("limit", "remaining", "reset")
)
"""The six headers, as OpenAI (and Groq, and others) send them."""

MAX_RESET = 86_400.0
"""The longest reset believed, in seconds: a day (OpenAI's longest window)."""
MAX_COUNT = 10**12
"""The largest limit or remaining count believed."""

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class Window(TypedDict):
    """One dimension of an upstream's budget, as it last said."""

    limit: int | None
    """How many the window allows (None: the header was missing)."""
    remaining: int
    """How many are left in it."""
    reset_at: float
    """Epoch seconds when it is full again."""


class Observed(TypedDict):
    """What one response said, per dimension (None: not said, or not readable)."""

    requests: Window | None
    tokens: Window | None


def duration(text: str | None) -> float | None:
    """Seconds in a duration (`6m0s`, `20ms`, `1h2m3.5s`, `2.5`); None if not one."""
    if text is None:
        return None
    text = text.strip()
    if _NUMBER.fullmatch(text):
        seconds = float(text)
    else:
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_RESET else None


def _count(text: str | None) -> int | None:
    """A non-negative whole count within bounds; None otherwise."""
    if text is None or not text.strip().isdigit() or len(text.strip()) > 13:
        return None
    value = int(text.strip())
    return value if value <= MAX_COUNT else None


def _window(headers: Mapping[str, str], dimension: str, now: float) -> Window | None:
    """One dimension's window, or None when its remaining count or reset is unreadable."""
    remaining = _count(headers.get(f"x-ratelimit-remaining-{dimension}"))
    reset = duration(headers.get(f"x-ratelimit-reset-{dimension}"))
    if remaining is None or reset is None:
        return None
    limit = _count(headers.get(f"x-ratelimit-limit-{dimension}"))
    if limit is not None:
        remaining = min(remaining, limit)
    return {"limit": limit, "remaining": remaining, "reset_at": now + reset}


def observed(headers: Mapping[str, str], now: float) -> Observed | None:
    """What `headers` (read at epoch `now`) say of the budget; None when they say nothing."""
    found: Observed = {
        "requests": _window(headers, "requests", now),
        "tokens": _window(headers, "tokens", now),
    }
    return found if found["requests"] or found["tokens"] else None
