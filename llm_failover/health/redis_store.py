"""Circuits in Redis, so every worker honours what one of them learned.

Records are JSON strings that expire on their own; updates are optimistic transactions
(WATCH/MULTI), so two workers finishing at once both count; the probe claim is a
`SET NX PX`, so across all workers exactly one request probes a recovering provider.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import redis
import redis.asyncio as aredis

from llm_failover.health.circuit import Admission, Circuit, admission
from llm_failover.health.store import Transition

_PREFIX = "llm-failover:circuit:"


class RedisStore:
    """A `CircuitStore` backed by one Redis server (`LLM_FAILOVER_REDIS_URL`)."""

    def __init__(self, url: str) -> None:
        self._url = url
        # Connections open lazily: building the graph makes no request.
        self._sync = redis.Redis.from_url(url, decode_responses=True)
        # An asyncio client is bound to the loop it first ran on: one per loop.
        self._async: dict[int, aredis.Redis] = {}

    def _client(self) -> aredis.Redis:
        loop = id(asyncio.get_running_loop())
        if loop not in self._async:
            self._async[loop] = aredis.Redis.from_url(self._url, decode_responses=True)
        return self._async[loop]

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        record = _load(self._sync.get(_PREFIX + key))
        decision = admission(record, now)
        if decision == "probe" and not self._sync.set(
            _PREFIX + key + ":probe", "1", nx=True, px=_ms(claim_for)
        ):
            return "skip", record
        return decision, record

    def update(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """Apply `transition` to the current record atomically; release the probe claim."""

        def apply(pipe: redis.client.Pipeline) -> Any:
            record, keep = transition(_load(pipe.get(_PREFIX + key)))
            pipe.multi()
            _write(pipe, key, record, keep)
            return record

        return cast(
            Circuit | None, self._sync.transaction(apply, _PREFIX + key, value_from_callable=True)
        )

    def release(self, key: str) -> None:
        """Give up a probe claim without news about the provider's health."""
        self._sync.delete(_PREFIX + key + ":probe")

    async def aadmit(
        self, key: str, now: float, claim_for: float
    ) -> tuple[Admission, Circuit | None]:
        """`admit` for async callers."""
        client = self._client()
        record = _load(await client.get(_PREFIX + key))
        decision = admission(record, now)
        if decision == "probe" and not await client.set(
            _PREFIX + key + ":probe", "1", nx=True, px=_ms(claim_for)
        ):
            return "skip", record
        return decision, record

    async def aupdate(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """`update` for async callers."""
        async with self._client().pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(_PREFIX + key)
                    record, keep = transition(_load(await pipe.get(_PREFIX + key)))
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    _write(pipe, key, record, keep)
                    await pipe.execute()
                    return record
                except redis.WatchError:
                    continue  # another worker wrote first: apply ours to its record

    async def arelease(self, key: str) -> None:
        """`release` for async callers."""
        await self._client().delete(_PREFIX + key + ":probe")

    def get(self, key: str) -> Circuit | None:
        """The record of one circuit (None: closed)."""
        return _load(self._sync.get(_PREFIX + key))


def _write(pipe: object, key: str, record: Circuit | None, keep: float) -> None:
    """Queue the record's write and the probe claim's release on a MULTI pipeline."""
    commands = cast(redis.client.Pipeline, pipe)
    commands.delete(_PREFIX + key + ":probe")
    if record is None:
        commands.delete(_PREFIX + key)
    else:
        commands.set(_PREFIX + key, json.dumps(record), px=_ms(keep))


def _load(raw: object) -> Circuit | None:
    return cast(Circuit, json.loads(raw)) if isinstance(raw, str) else None


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)
