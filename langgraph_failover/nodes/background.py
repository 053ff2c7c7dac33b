"""An event loop in a daemon thread, where sync callers' hedge races run (`race.py`).

A sync stream blocked in a socket read cannot be stopped from another thread, so a race
that must close its loser's connection runs on async clients, even for a sync caller: on
this loop, one for the process, so its connection pools (`providers.transport`) are
kept from one turn to the next. The caller's context goes along (LangGraph's config and
stream writer), as `asyncio.run_coroutine_threadsafe` copies it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Loop:
    """The loop and the process that started it (a forked worker needs its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def get(self) -> asyncio.AbstractEventLoop:
        """The running loop, started on first use (again in a forked child)."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="langgraph-failover-hedge",
                                 daemon=True).start()  # fmt: skip
                self._loop, self._pid = loop, os.getpid()
            return self._loop


# Naughty but required: one loop for the process, as one connection pool per loop.
_LOOP = _Loop()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the background loop and wait for it (sync callers)."""
    future = asyncio.run_coroutine_threadsafe(coroutine, _LOOP.get())
    try:
        return future.result()
    finally:
        future.cancel()  # the caller gave up (KeyboardInterrupt...): the race stops too
