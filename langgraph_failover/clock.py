"""Time, injected: the wall clock for circuits and stickiness, and the sleeps of retries.

Everything that waits or compares with "now" takes a `Clock`, so tests drive backoff and
cooldowns with `langgraph_failover.testing.FakeClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Clock:
    """Where the graph reads the time and how it waits."""

    now: Callable[[], float] = time.time
    """Epoch seconds: circuits and sticky threads outlive a process, so wall time."""
    sleep: Callable[[float], None] = time.sleep
    """Blocking wait, for sync callers."""
    asleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """Non-blocking wait, for async callers."""


SYSTEM_CLOCK = Clock()
