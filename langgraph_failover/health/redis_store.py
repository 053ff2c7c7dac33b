"""Circuits in Redis, so every worker honours what one of them learned.

Records are JSON strings that expire on their own; updates are optimistic transactions
(WATCH/MULTI), so two workers finishing at once both count; the probe claim is a
`SET NX PX`, so across all workers exactly one request probes a recovering provider.

The clients are built to fail fast: short socket timeouts and no retry of a timeout, so a
hung server costs a fraction of a second before `FailOpenStore` stops asking it. A value
that is not a record of ours (see `records.py`) reads as no record, with one warning per
key, and the next update overwrites it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from langgraph_failover.health import records
from langgraph_failover.health.circuit import Admission, Circuit, admission
from langgraph_failover.health.redis_budgets import RedisBudgets
from langgraph_failover.health.store import Transition
from langgraph_failover.secrets import mask

log = logging.getLogger("langgraph_failover")

_PREFIX = "llm-failover:circuit:"
# A healthy Redis answers in a millisecond; a server that has not answered in half a
# second is treated as down. `?socket_timeout=...&socket_connect_timeout=...` in the
# URL overrides both (redis-py's own URL options take precedence over these).
TIMEOUT = 0.5
_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": TIMEOUT,
    "socket_connect_timeout": TIMEOUT,
    "encoding_errors": "replace",  # bytes that are not UTF-8 are garbage, not a crash
}
_WARNED_KEYS = 256  # at most this many unreadable keys remembered, so warnings stay bounded


class RedisStore(RedisBudgets):
    """A `CircuitStore` (and `BudgetStore`) backed by one Redis server."""

    def __init__(self, url: str) -> None:
        self.where = mask(url)
        """The URL as logs may show it: its password masked."""
        self._url = url
        # Connections open lazily: building the graph makes no request.
        # One immediate retry of a refused or reset connection (a pooled connection the
        # server closed on restart), none of a timeout: a hung server costs one timeout.
        retry = Retry(NoBackoff(), 1, (redis.ConnectionError,))
        self._sync = redis.Redis.from_url(url, retry=retry, **_OPTIONS)
        # An asyncio client is bound to the loop it first ran on: one per loop, keyed by
        # the loop itself (an id() can be reused by a later loop).
        self._async: dict[asyncio.AbstractEventLoop, aredis.Redis] = {}
        self._lock = threading.Lock()
        self._unreadable: set[str] = set()
        self._recent = Recent()

    def _client(self) -> aredis.Redis:
        """The asyncio client for the running loop, made on its first use there."""
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            retry = AsyncRetry(NoBackoff(), 1, (redis.ConnectionError,))
            client = aredis.Redis.from_url(self._url, retry=retry, **_OPTIONS)
            with self._lock:
                # `asyncio.run` per request closes each loop: drop their clients (their
                # sockets close when collected), or they would pile up for ever.
                for closed in [old for old in self._async if old.is_closed()]:
                    del self._async[closed]
                self._async[loop] = client
        return client

    def admit(self, key: str, now: float, claim_for: float) -> tuple[Admission, Circuit | None]:
        """Whether to call now, claiming the single probe when the cooldown is over."""
        # A closed read the entry edge just made serves: one GET per healthy turn.
        record = None if self._recent.take(key) else self._read(key, self._sync.get)
        decision = admission(record, now)
        if decision == "probe" and not self._sync.set(
            _PREFIX + key + ":probe", "1", nx=True, px=_ms(claim_for)
        ):
            return "skip", record
        return decision, record

    def update(self, key: str, now: float, transition: Transition) -> Circuit | None:
        """Apply `transition` to the current record atomically; release the probe claim."""

        def apply(pipe: redis.client.Pipeline) -> Any:
            record, keep = transition(self._read(key, pipe.get))
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
        record = None if self._recent.take(key) else await self._aread(key, client.get)
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
                    record, keep = transition(await self._aread(key, pipe.get))
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
        return self._read(key, self._sync.get)

    def peek(self, key: str, now: float) -> Circuit | None:
        """The record, read only (no probe claimed): the entry edge's look before a turn.

        Kept for the `admit` that follows it (`Recent`), so a turn reads once.
        """
        return self._recent.put(key, self._read(key, self._sync.get))

    async def apeek(self, key: str, now: float) -> Circuit | None:
        """`peek` for async callers."""
        return self._recent.put(key, await self._aread(key, self._client().get))

    def _read(self, key: str, get: Callable[[str], Any]) -> Circuit | None:
        """The record at `key` through a client's or a WATCHing pipeline's sync `get`."""
        try:
            raw = get(_PREFIX + key)
        except redis.ResponseError as exc:
            raw = records.wrong_type(exc)
        return self._decode(key, raw)

    async def _aread(self, key: str, get: Callable[[str], Awaitable[Any]]) -> Circuit | None:
        """`_read` through an async `get`."""
        try:
            raw = await get(_PREFIX + key)
        except redis.ResponseError as exc:
            raw = records.wrong_type(exc)
        return self._decode(key, raw)

    def _decode(self, key: str, raw: object) -> Circuit | None:
        """A record of ours from `raw`; anything else is no record, warned about once."""
        try:
            return records.loads(raw)
        except records.NotARecord:
            pass
        with self._lock:
            first = key not in self._unreadable and len(self._unreadable) < _WARNED_KEYS
            if first:
                self._unreadable.add(key)
        if first:
            log.warning(
                "circuit store %s: the value at %s%s is not a circuit record; "
                "read as closed, and replaced by its next update", self.where, _PREFIX, key,
            )  # fmt: skip
        return None


class Recent:
    """Closed-circuit reads the entry edge just made, each taken by one `admit`.

    A turn's entry edge reads its first provider's circuit and the provider's node admits
    the call a moment later: one GET serves both. Only a closed read is kept (a probe
    must be claimed atomically), for `FRESH` seconds, and used once, so it is never
    older than a read made at the start of the same turn would be.
    """

    FRESH = 0.25
    MAX_KEYS = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[str, list[float]] = {}  # key -> monotonic times of closed reads

    def put(self, key: str, record: Circuit | None) -> Circuit | None:
        """Keep a closed read of `key`; return `record` as it was."""
        if record is None:
            now = time.monotonic()
            with self._lock:
                if key not in self._reads and len(self._reads) >= self.MAX_KEYS:
                    self._reads.clear()  # bounded whatever models runs name; it only saves
                reads = self._reads.setdefault(key, [])
                reads[:] = [*(t for t in reads[-63:] if now - t < self.FRESH), now]
        return record

    def take(self, key: str) -> bool:
        """Whether a fresh closed read of `key` was kept; it is used up."""
        now = time.monotonic()
        with self._lock:
            reads = self._reads.get(key)
            while reads:
                if now - reads.pop() < self.FRESH:
                    return True
            self._reads.pop(key, None)
        return False


def _write(pipe: object, key: str, record: Circuit | None, keep: float) -> None:
    """Queue the record's write and the probe claim's release on a MULTI pipeline."""
    commands = cast(redis.client.Pipeline, pipe)
    commands.delete(_PREFIX + key + ":probe")
    if record is None:
        commands.delete(_PREFIX + key)
    else:
        commands.set(_PREFIX + key, records.dumps(record), px=_ms(keep))


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)
