"""A shared circuit store that fails open: while it is down, circuits stay in process.

Circuits are an optimisation of failover, never a condition for answering: a Redis that
refuses, hangs or errs must not take a turn down. `FailOpenStore` asks the shared store
while it answers; the first error (an outage) sends every call to the in-process store
and logs one WARNING. During the outage the shared store is asked again only once per
back-off, by a single call (the probe), so a hung server costs one timeout per back-off,
not one per turn; the probe's answer ends the outage, with one INFO line in the log.

    up --(error)--> down: local store --(back-off over: one call probes)--> up or down

What the in-process store learns during an outage stays there: the shared store, when it
is back, starts from what it held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from langgraph_failover.health.budgets import FailOpenBudgets
from langgraph_failover.health.circuit import Admission, Circuit
from langgraph_failover.health.store import CircuitStore, Transition
from langgraph_failover.secrets import mask

log = logging.getLogger("langgraph_failover")

T = TypeVar("T")
Route = Literal["shared", "probe", "local"]
BACKOFF = 5.0  # seconds between probes of a shared store that is down


class Outage:
    """Whether the shared store is down, and which call may probe it (thread-safe)."""

    def __init__(self, where: str, backoff: float, monotonic: Callable[[], float]) -> None:
        self._where, self._backoff, self._monotonic = where, backoff, monotonic
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # None: up

    def route(self) -> Route:
        """Where this call goes: the shared store, the shared store as the probe, or local."""
        with self._lock:
            if self._retry_at is None:
                return "shared"
            now = self._monotonic()
            if now < self._retry_at:
                return "local"
            self._retry_at = now + self._backoff  # the others stay local while it probes
            return "probe"

    def failed(self, route: Route, exc: BaseException) -> None:
        """The shared store did not answer: start an outage (logged once) or keep it on."""
        with self._lock:
            starts = self._retry_at is None
            if starts or route == "probe":
                self._retry_at = self._monotonic() + self._backoff
        if starts:
            log.warning(
                "circuit store %s is unavailable (%s: %s); using in-process circuits, "
                "asking it again every %g s",
                self._where, type(exc).__name__, mask(str(exc)), self._backoff,
            )  # fmt: skip

    def answered(self, route: Route) -> None:
        """The shared store answered; a probe's answer ends the outage."""
        if route != "probe":
            return  # a call begun before the outage proves nothing about now
        with self._lock:
            ends, self._retry_at = self._retry_at is not None, None
        if ends:
            log.info("circuit store %s answers again; using it", self._where)


class FailOpenStore(FailOpenBudgets):
    """A `CircuitStore` that uses `shared` while it answers and `local` while it does not."""

    def __init__(
        self,
        shared: CircuitStore,
        local: CircuitStore,
        *,
        where: str,
        errors: tuple[type[BaseException], ...],
        backoff: float = BACKOFF,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared, self.local, self._errors = shared, local, errors
        self._outage = Outage(where, backoff, monotonic)

    def _call(self, op: Callable[[CircuitStore], T]) -> T:
        """Run `op` on the store the outage routes to, falling back to `local` on error."""
        route = self._outage.route()
        if route != "local":
            try:
                result = op(self.shared)
            except self._errors as exc:
                self._outage.failed(route, exc)
            else:
                self._outage.answered(route)
                return result
        return op(self.local)

    async def _acall(self, op: Callable[[CircuitStore], Awaitable[T]]) -> T:
        """`_call` for async callers."""
        route = self._outage.route()
        if route != "local":
            try:
                result = await op(self.shared)
            except self._errors as exc:
                self._outage.failed(route, exc)
            else:
                self._outage.answered(route)
                return result
        return await op(self.local)

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        return self._call(lambda store: store.admit(key, now, claim_for))

    def update(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """Apply `transition` to the current record atomically; release the probe claim."""
        return self._call(lambda store: store.update(key, now, transition))

    def release(self, key: str) -> None:
        """Give up a probe claim without news about the provider's health."""
        self._call(lambda store: store.release(key))

    def peek(self, key: str, now: float) -> Circuit | None:
        """The record, read only (no probe claimed): the entry edge's look before a turn."""
        return self._call(lambda store: store.peek(key, now))

    async def apeek(self, key: str, now: float) -> Circuit | None:
        """`peek` for async callers."""
        return await self._acall(lambda store: store.apeek(key, now))

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        return await self._acall(lambda store: store.aadmit(key, now, claim_for))

    async def aupdate(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """`update` for async callers."""
        return await self._acall(lambda store: store.aupdate(key, now, transition))

    async def arelease(self, key: str) -> None:
        """`release` for async callers."""
        await self._acall(lambda store: store.arelease(key))
