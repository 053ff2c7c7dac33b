"""Circuits in Redis, so every worker honours what one of them learned.

Records are JSON strings that expire on their own (`ttl`); the probe claim is a
`SET NX PX`, so across all workers exactly one request probes a recovering provider.
Updates are read-modify-write: two workers failing at once may count one failure
instead of two, which delays opening by one request and never opens wrongly.
"""

from __future__ import annotations

import json
from typing import cast

import redis
import redis.asyncio as aredis

from llm_failover.health.circuit import Admission, Circuit, admission

_PREFIX = "llm-failover:circuit:"


class RedisStore:
    """A `CircuitStore` backed by one Redis server (`LLM_FAILOVER_REDIS_URL`)."""

    def __init__(self, url: str) -> None:
        # Both clients connect lazily; building the graph makes no request.
        self._sync = redis.Redis.from_url(url, decode_responses=True)
        self._async = aredis.Redis.from_url(url, decode_responses=True)

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        record = _load(self._sync.get(_PREFIX + key))
        decision = admission(record, now)
        if decision == "probe" and not self._sync.set(
            _PREFIX + key + ":probe", "1", nx=True, px=_ms(claim_for)
        ):
            return "skip", record
        return decision, record

    def save(self, key: str, record: Circuit | None, ttl: float) -> None:
        """Store the new record (None: healthy again) and release any probe claim."""
        with self._sync.pipeline() as pipe:
            pipe.delete(_PREFIX + key + ":probe")
            if record is None:
                pipe.delete(_PREFIX + key)
            else:
                pipe.set(_PREFIX + key, json.dumps(record), px=_ms(ttl))
            pipe.execute()

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        record = _load(await self._async.get(_PREFIX + key))
        decision = admission(record, now)
        if decision == "probe" and not await self._async.set(
            _PREFIX + key + ":probe", "1", nx=True, px=_ms(claim_for)
        ):
            return "skip", record
        return decision, record

    async def asave(self, key: str, record: Circuit | None, ttl: float) -> None:
        """`save` for async callers."""
        async with self._async.pipeline() as pipe:
            pipe.delete(_PREFIX + key + ":probe")
            if record is None:
                pipe.delete(_PREFIX + key)
            else:
                pipe.set(_PREFIX + key, json.dumps(record), px=_ms(ttl))
            await pipe.execute()

    def get(self, key: str) -> Circuit | None:
        """The record of one circuit (None: closed)."""
        return _load(self._sync.get(_PREFIX + key))


def _load(raw: object) -> Circuit | None:
    return cast(Circuit, json.loads(raw)) if isinstance(raw, str) else None


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)
