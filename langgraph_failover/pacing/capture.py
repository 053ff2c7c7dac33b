"""Hand the rate-limit headers of each response to the node whose call it answers.

The graph's OpenAI-compatible clients are built with `HOOKS` (sync) and `AHOOKS` (async)
as httpx response hooks. A hook only copies the six headers into the `Seen` holder the
running call set with `watching`, and notes when they came; the node records them in its
budget store afterwards, through its own store I/O: a hook never does I/O of its own.
The holder is a mutable object rather than a value set again by the hook, because a
sync stream is read in a worker thread, in a copy of the node's context.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping
from typing import Any

from langgraph_failover.pacing.headers import NAMES


class Seen:
    """What the responses of one call said: their rate-limit headers, and when."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now, self._lock = now, threading.Lock()
        self.answers: list[tuple[dict[str, str], float]] = []
        """Each response's rate-limit headers and the time (`now()`) it came at: a reset
        is a duration from then, not from when the call ended."""

    def take(self, headers: Mapping[str, str]) -> None:
        """Keep the rate-limit headers of one response (a response without them counts)."""
        found = {name: headers[name] for name in NAMES if name in headers}
        with self._lock:
            self.answers.append((found, self._now()))


_WATCHING: contextvars.ContextVar[Seen | None] = contextvars.ContextVar(
    "llm_failover_seen", default=None
)


class watching:
    """Send the responses of the calls made inside to `seen` (None: to nobody).

    Sync and async (`async with`) alike.
    """

    def __init__(self, seen: Seen | None) -> None:
        self._seen = seen
        self._token: contextvars.Token[Seen | None] | None = None

    def __enter__(self) -> None:
        self._token = _WATCHING.set(self._seen)

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _WATCHING.reset(self._token)

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__()


def _hook(response: Any) -> None:
    """The httpx response hook: give the headers to the call that is watching, if any."""
    seen = _WATCHING.get()
    if seen is not None:
        seen.take(response.headers)


async def _ahook(response: Any) -> None:
    """`_hook` for async clients (httpx awaits their hooks)."""
    _hook(response)


HOOKS: dict[str, list[Any]] = {"response": [_hook]}
"""The event hooks of a sync httpx client whose responses pacing reads."""
AHOOKS: dict[str, list[Any]] = {"response": [_ahook]}
"""The event hooks of an async httpx client whose responses pacing reads."""
