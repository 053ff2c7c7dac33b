"""Where circuit records live: in this process by default, or in Redis for many workers.

A store holds records (see `circuit.py`), applies a transition to the record it holds
atomically (so concurrent outcomes don't overwrite each other), expires records after
their TTL, and makes the half-open probe claim atomic, so that after a cooldown exactly
one request goes through. The in-process store is shared by every graph built in the
process, which is what makes failover knowledge process-wide.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from langgraph_failover.extras import require
from langgraph_failover.health.budgets import MemoryBudgets
from langgraph_failover.health.circuit import Admission, Circuit, admission

# current record -> (new record, seconds to keep it)
Transition = Callable[[Circuit | None], tuple[Circuit | None, float]]


class CircuitStore(Protocol):
    """Holds circuit records by key; sync methods for sync callers, `a*` for async ones."""

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        ...

    def update(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """Apply `transition` to the current record atomically; release the probe claim."""
        ...

    def release(self, key: str) -> None:
        """Give up a probe claim without news about the provider's health."""
        ...

    def peek(self, key: str, now: float) -> Circuit | None:
        """The record, read only (no probe claimed): the entry edge's look before a turn."""
        ...

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        ...

    async def aupdate(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """`update` for async callers."""
        ...

    async def arelease(self, key: str) -> None:
        """`release` for async callers."""
        ...

    async def apeek(self, key: str, now: float) -> Circuit | None:
        """`peek` for async callers."""
        ...


SWEEP_EVERY = 60.0
"""Seconds between sweeps of expired records (at an update, under the lock)."""

_Held = TypeVar("_Held", float, tuple[Circuit, float])


def _unexpired(entries: dict[str, _Held], now: float) -> dict[str, _Held]:
    """The entries whose expiry (a time, or a record's second item) is still ahead."""
    return {k: v for k, v in entries.items() if (v[1] if isinstance(v, tuple) else v) > now}


class MemoryStore(MemoryBudgets):
    """Circuits (and budgets) in this process's memory: dicts under locks (no I/O).

    Bounded whatever the callers send (each model a run names is a circuit): past
    `max_records`, expired records go first, then those closest to expiring.
    """

    def __init__(self, max_records: int = 4096) -> None:
        super().__init__()  # the rate-limit budgets kept beside the circuits
        self._lock = threading.Lock()
        self._records: dict[str, tuple[Circuit, float]] = {}  # key -> (record, expires)
        self._probes: dict[str, float] = {}
        self.max_records = max_records
        self._sweep_at = 0.0

    def _current(self, key: str, now: float) -> Circuit | None:
        held = self._records.get(key)
        if held is not None and held[1] <= now:
            del self._records[key]
            return None
        return held[0] if held else None

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        with self._lock:
            record = self._current(key, now)
            decision = admission(record, now)
            if decision == "probe":
                if self._probes.get(key, 0.0) > now:
                    return "skip", record  # another request is already probing
                if len(self._probes) >= self.max_records:  # claims left by crashed calls
                    self._probes = _unexpired(self._probes, now)
                self._probes[key] = now + claim_for
            return decision, record

    def update(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """Apply `transition` to the current record atomically; release the probe claim."""
        with self._lock:
            self._probes.pop(key, None)
            record, keep = transition(self._current(key, now))
            if record is None:
                self._records.pop(key, None)
            else:
                if key not in self._records and len(self._records) >= self.max_records:
                    self._evict(now)
                self._records[key] = (record, now + keep)
            if now >= self._sweep_at:  # expired records go even if nobody reads them again
                self._sweep_at = now + SWEEP_EVERY
                self._records = _unexpired(self._records, now)
                self._probes = _unexpired(self._probes, now)
            return record

    def _evict(self, now: float) -> None:
        """Make room for one record: drop the expired ones, else the soonest to expire."""
        live = _unexpired(self._records, now)
        if len(live) >= self.max_records:
            del live[min(live, key=lambda k: live[k][1])]
        self._records = live

    def release(self, key: str) -> None:
        """Give up a probe claim without news about the provider's health."""
        with self._lock:
            self._probes.pop(key, None)

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        return self.admit(key, now, claim_for)

    async def aupdate(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """`update` for async callers."""
        return self.update(key, now, transition)

    async def arelease(self, key: str) -> None:
        """`release` for async callers."""
        self.release(key)

    def peek(self, key: str, now: float) -> Circuit | None:
        """The record, read only (no probe claimed): the entry edge's look before a turn."""
        with self._lock:
            return self._current(key, now)

    async def apeek(self, key: str, now: float) -> Circuit | None:
        """`peek` for async callers."""
        return self.peek(key, now)

    def get(self, key: str, now: float | None = None) -> Circuit | None:
        """The record of one circuit (None: closed); `now` applies expiry."""
        with self._lock:
            if now is None:
                held = self._records.get(key)
                return held[0] if held else None
            return self._current(key, now)

    def count(self) -> int:
        """How many records it holds (not `__len__`: an empty store must stay truthy)."""
        return len(self._records)

    def clear(self) -> None:
        """Forget every circuit (tests, or an operator who fixed the upstream)."""
        with self._lock:
            self._records.clear()
            self._probes.clear()
        self.clear_budgets()


# Naughty but required: circuits are process-wide, so every graph shares this one.
PROCESS_STORE = MemoryStore()


def make_store(redis_url: str | None, *, backoff: float | None = None) -> CircuitStore:
    """The store settings ask for: Redis when a URL is set, else the process store.

    Redis fails open (see `failopen.py`): while it is unavailable, circuits are kept in
    the process store, and Redis is asked again every `backoff` seconds. Every graph of
    the process on one Redis URL shares one store: one outage, one warning, one pool.
    """
    if redis_url is None:
        return PROCESS_STORE
    require("redis", "LLM_FAILOVER_REDIS_URL")
    return _redis_store(redis_url, backoff)


@functools.lru_cache(maxsize=16)
def _redis_store(redis_url: str, backoff: float | None) -> CircuitStore:
    import redis  # the `redis` extra: imported only when a URL is set

    from langgraph_failover.health.failopen import BACKOFF, FailOpenStore
    from langgraph_failover.health.redis_store import RedisStore

    shared = RedisStore(redis_url)
    return FailOpenStore(
        shared,
        PROCESS_STORE,
        where=shared.where,
        errors=(redis.RedisError, OSError),
        backoff=BACKOFF if backoff is None else backoff,
    )
