"""Async HTTP for the provider clients: one connection pool per event loop.

An async connection belongs to the event loop that opened it. langchain-openai shares one
async client per process (per base URL and timeout) and `ChatOllama` keeps one
`ollama.AsyncClient`, so an app that runs each request in its own `asyncio.run` (as some
sync apps do) got `RuntimeError: Event loop is closed` on its second request: the pool
still held the first loop's connections. The graph's clients are given a `LoopTransport`
instead, which opens a pool the first time a loop makes a request and keeps using it for
that loop; a new loop drops the pools of loops that have closed since.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any

_Entry = tuple[Any, AsyncGenerator[None, None]]


class LoopTransport:
    """An httpx async transport that sends through one inner transport per event loop.

    Duck-typed (`handle_async_request`, `aclose`, async context manager), so the same
    class serves `httpx` (Ollama) and the fork `openai` uses (`httpx2`); `make` builds the
    inner transport of the right library.

    A loop's pool is closed, on that loop, when the loop shuts down its async generators
    (`asyncio.run` and servers running on it do, before closing the loop): a generator
    suspended for the loop's life is how asyncio lets a library clean up there. A loop
    closed without that is dropped when another loop first sends, its sockets closed
    when collected; loops are held weakly, so a collected loop takes its pool along.
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        # loop -> (its pool, the generator that closes it); asyncio holds generators
        # weakly, so this is what keeps the closer alive until the loop shuts down.
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()  # loops in several threads may first send at once

    async def handle_async_request(self, request: Any) -> Any:
        """Send `request` through the running loop's pool."""
        loop = asyncio.get_running_loop()
        closer = None
        with self._lock:
            entry = self._pools.get(loop)
            if entry is None:
                # A closed loop's connections can never be used again; its pool refers
                # to the loop through them, so the weak key alone would not free it.
                for closed in [old for old in self._pools if old.is_closed()]:
                    del self._pools[closed]
                pool = self._make()
                closer = self._closer(loop, pool)
                entry = self._pools[loop] = (pool, closer)
        if closer is not None:
            await anext(closer)  # started on the loop, so that the loop's shutdown closes it
        return await entry[0].handle_async_request(request)

    async def _closer(
        self, loop: asyncio.AbstractEventLoop, pool: Any
    ) -> AsyncGenerator[None, None]:
        """Suspended while `loop` runs; closed by its shutdown, it closes the loop's pool."""
        try:
            yield
        finally:
            with self._lock:
                if (entry := self._pools.get(loop)) is not None and entry[0] is pool:
                    del self._pools[loop]
            await pool.aclose()

    async def aclose(self) -> None:
        """Close the running loop's pool; other loops' pools are theirs to use."""
        with self._lock:
            entry = self._pools.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()  # runs the closer's `finally`: the pool is closed

    def loops(self) -> int:
        """How many event loops hold a pool now."""
        with self._lock:
            return len(self._pools)

    async def __aenter__(self) -> LoopTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`).

    httpx applies these itself only to a client built without a transport; a client
    given one (ours) is told explicitly, so a proxy the app relies on keeps working.
    """
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")
