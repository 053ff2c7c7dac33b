"""Where circuit records live: in this process by default, or in Redis for many workers.

A store keeps records (see `circuit.py`) and makes the half-open probe claim atomic, so
that after a cooldown exactly one request goes through. The in-process store is shared by
every graph built in the process, which is what makes failover knowledge process-wide.
"""

from __future__ import annotations

import threading
from typing import Protocol

from llm_failover.health.circuit import Admission, Circuit, admission


class CircuitStore(Protocol):
    """Holds circuit records by key; sync methods for sync callers, `a*` for async ones."""

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        ...

    def save(self, key: str, record: Circuit | None, ttl: float) -> None:
        """Store the new record (None: healthy again) and release any probe claim."""
        ...

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        ...

    async def asave(self, key: str, record: Circuit | None, ttl: float) -> None:
        """`save` for async callers."""
        ...


class MemoryStore:
    """Circuits in this process's memory: a dict under a lock (no I/O, so async is free)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, Circuit] = {}
        self._probes: dict[str, float] = {}

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        with self._lock:
            record = self._records.get(key)
            decision = admission(record, now)
            if decision == "probe":
                if self._probes.get(key, 0.0) > now:
                    return "skip", record  # another request is already probing
                self._probes[key] = now + claim_for
            return decision, record

    def save(self, key: str, record: Circuit | None, ttl: float) -> None:
        """Store the new record (None: healthy again) and release any probe claim."""
        with self._lock:
            self._probes.pop(key, None)
            if record is None:
                self._records.pop(key, None)
            else:
                self._records[key] = record

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        return self.admit(key, now, claim_for)

    async def asave(self, key: str, record: Circuit | None, ttl: float) -> None:
        """`save` for async callers."""
        self.save(key, record, ttl)

    def get(self, key: str) -> Circuit | None:
        """The record of one circuit (None: closed)."""
        with self._lock:
            return self._records.get(key)

    def clear(self) -> None:
        """Forget every circuit (tests, or an operator who fixed the upstream)."""
        with self._lock:
            self._records.clear()
            self._probes.clear()


class NullStore:
    """No circuit at all: for the mock, which cannot fail."""

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Always call."""
        return "call", None

    def save(self, key: str, record: Circuit | None, ttl: float) -> None:
        """Nothing to keep."""

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """Always call."""
        return "call", None

    async def asave(self, key: str, record: Circuit | None, ttl: float) -> None:
        """Nothing to keep."""


# Naughty but required: circuits are process-wide, so every graph shares this one.
PROCESS_STORE = MemoryStore()


def make_store(redis_url: str | None) -> CircuitStore:
    """The store settings ask for: Redis when a URL is set, else the process store."""
    if redis_url is None:
        return PROCESS_STORE
    from llm_failover.health.redis_store import RedisStore  # redis is needed only here

    return RedisStore(redis_url)
