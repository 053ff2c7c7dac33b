"""Budgets in Redis, so every worker paces on what any of them heard and holds in flight.

One JSON string per circuit key under `llm-failover:budget:`, changed by an optimistic
transaction (WATCH/MULTI, as circuit updates are): two workers reserving at once both
count, the loser applies its change again to the winner's record. Each write expires a
while past the record's last reset or reservation (`budget.keep_for`). A value that is not
a budget of ours reads as none, and the next change replaces it.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TypeVar, cast

import redis

from langgraph_failover.health.budgets import Change
from langgraph_failover.pacing.budget import Budget, keep_for

if TYPE_CHECKING:
    import redis.asyncio as aredis

T = TypeVar("T")
PREFIX = "llm-failover:budget:"
_FIELDS = {"requests", "tokens", "flight", "pioneer", "heard"}


def _number(value: object) -> bool:
    """A finite JSON number."""
    return type(value) in (int, float) and math.isfinite(cast(float, value))


def _window(value: object) -> bool:
    """None, or the exact shape of a `headers.Window`."""
    if value is None:
        return True
    if not isinstance(value, dict) or set(value) != {"limit", "remaining", "reset_at"}:
        return False
    limit = value["limit"]
    return (
        (limit is None or type(limit) is int)
        and type(value["remaining"]) is int
        and (_number(value["reset_at"]))
    )


def loads(raw: object) -> Budget | None:
    """The budget in `raw`, or None for no value or anything that is not one of ours."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != _FIELDS:
        return None
    flight = value["flight"]
    flights_ok = isinstance(flight, dict) and all(
        isinstance(f, dict) and type(f.get("tokens")) is int and _number(f.get("until"))
        for f in flight.values()
    )
    pioneer_ok = value["pioneer"] is None or isinstance(value["pioneer"], str)
    ok = flights_ok and pioneer_ok and isinstance(value["heard"], bool)
    return (
        cast(Budget, value)
        if ok and _window(value["requests"]) and _window(value["tokens"])
        else None
    )


def _ms(seconds: float) -> int:
    """Seconds as Redis's PX milliseconds (at least 1)."""
    return max(int(seconds * 1000), 1)


class RedisBudgets:
    """`RedisStore`'s budget methods (its sync client and per-loop async clients)."""

    _sync: redis.Redis

    def _client(self) -> aredis.Redis:  # pragma: no cover - RedisStore's own
        raise NotImplementedError

    def pace(self, key: str, now: float, change: Change[T]) -> T:
        """Apply `change` to the key's budget atomically; return what it returned."""
        name = PREFIX + key

        def apply(pipe: redis.client.Pipeline) -> Any:
            new, result = change(loads(_get(pipe, name)))
            pipe.multi()
            pipe.set(name, json.dumps(new), px=_ms(keep_for(new, now)))
            return result

        return cast(T, self._sync.transaction(apply, name, value_from_callable=True))

    def budget(self, key: str, now: float) -> Budget | None:
        """The key's budget as it stands (None: nothing known), changing nothing."""
        return loads(_get(self._sync, PREFIX + key))

    async def apace(self, key: str, now: float, change: Change[T]) -> T:
        """`pace` for async callers."""
        name = PREFIX + key
        async with self._client().pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(name)
                    new, result = change(loads(await _aget(pipe, name)))
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    pipe.set(name, json.dumps(new), px=_ms(keep_for(new, now)))
                    await pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another worker changed it first: apply ours to theirs

    async def abudget(self, key: str, now: float) -> Budget | None:
        """`budget` for async callers."""
        return loads(await _aget(self._client(), PREFIX + key))


def _get(client: Any, name: str) -> object:
    """GET, with a key of another type (someone else's) read as no value."""
    try:
        return client.get(name)
    except redis.ResponseError as exc:
        if not str(exc).startswith("WRONGTYPE"):
            raise
        return None


async def _aget(client: Any, name: str) -> object:
    """`_get` through an async client or pipeline."""
    try:
        return await client.get(name)
    except redis.ResponseError as exc:
        if not str(exc).startswith("WRONGTYPE"):
            raise
        return None
