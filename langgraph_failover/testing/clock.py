"""A controlled clock: sleeps return at once and move time forward, and are recorded.

clock = FakeClock()
graph = build_graph(clock=clock.clock, ...)
...
assert clock.sleeps == [1.5]          # the exact Retry-After was waited out
clock.advance(301)                    # the quota cooldown is over
"""

from __future__ import annotations

import threading

from langgraph_failover.clock import Clock


class FakeClock:
    """Time that moves only when the code under test sleeps or the test advances it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []
        """Every wait asked for, in order, sync and async alike."""
        self.clock = Clock(now=self.now, sleep=self.sleep, asleep=self.asleep)
        """The `Clock` to hand to `build_graph(clock=...)`."""

    def now(self) -> float:
        """The current fake epoch time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep."""
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the wait and move time forward by it, at once."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds

    async def asleep(self, seconds: float) -> None:
        """The async twin of `sleep`."""
        self.sleep(seconds)
