"""The failure policy: quota vs rate limit, Retry-After, circuits, budgets, sticky threads.

Time is a FakeClock: every wait is recorded and returns at once, cooldowns pass by
`advance()`. The providers are the emulators, called by the real clients.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import AllProvidersFailed, ConfigError
from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import (
    FakeClock,
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    hang,
    ok,
    quota,
    rate_limited,
    server_error,
)
from tests.conftest import FAKE_KEY, T0, MakeGraph


def openai_circuit(store: MemoryStore, emu: OpenAIEmulator, key: str = FAKE_KEY) -> Any:
    """The OpenAI primary's circuit record (None: closed)."""
    return store.get(circuit_key("openai", emu.base_url, "gpt-4o-mini", key))


def turn(graph: FailoverGraph, text: str = "hi", thread: str | None = None) -> dict[str, Any]:
    """One sync turn, on a thread when given."""
    config: Any = {"configurable": {"thread_id": thread}} if thread else None
    return dict(graph.invoke({"messages": [HumanMessage(text)]}, config))


def route(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The turn's attempts as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


def test_quota_opens_the_circuit_then_one_probe_closes_it(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock, store: MemoryStore
) -> None:
    """insufficient_quota: no retry, circuit open 300 s, no requests, then one probe."""
    graph = graph_with()
    openai_emu.always(quota())
    assert route(turn(graph)) == [("openai", "insufficient_quota"), ("ollama", None)]
    assert clock.sleeps == []
    assert openai_circuit(store, openai_emu) == {
        "failures": 0,  # quota does not count toward the outage threshold
        "open_until": T0 + 300,
        "reason": "insufficient_quota",
        "since": T0,
    }
    clock.advance(299)
    state = turn(graph)
    assert route(state) == [("openai", "circuit_open"), ("ollama", None)]
    assert state["attempts"][0]["open_until"] == T0 + 300
    assert len(openai_emu.requests) == 1  # the open circuit made no request
    clock.advance(2)
    openai_emu.always(ok())
    assert route(turn(graph)) == [("openai", None)]
    assert openai_circuit(store, openai_emu) is None
    assert len(openai_emu.requests) == 2


def test_quota_cooldown_zero_turns_the_circuit_off(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, store: MemoryStore
) -> None:
    """LLM_FAILOVER_QUOTA_COOLDOWN=0: every turn asks the primary again."""
    graph = graph_with(quota_cooldown=0)
    openai_emu.always(quota())
    turn(graph)
    assert route(turn(graph)) == [("openai", "insufficient_quota"), ("ollama", None)]
    assert openai_circuit(store, openai_emu) is None
    assert len(openai_emu.requests) == 2


@pytest.mark.parametrize(
    ("fault", "wait"),
    [(rate_limited(retry_after=1.5), 1.5), (rate_limited(retry_after_ms=800), 0.8)],
)
async def test_short_retry_after_is_waited_out_once(
    graph_with: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    clock: FakeClock,
    store: MemoryStore,
    fault: Any,
    wait: float,
) -> None:
    """A 429 with a Retry-After within the budget: wait exactly that, retry, succeed."""
    openai_emu.script(fault)
    state = await graph_with().ainvoke({"messages": [HumanMessage("hi")]})
    assert route(state) == [("openai", "rate_limited"), ("openai", None)]
    assert clock.sleeps == [wait]
    assert state["attempts"][0]["retry_after"] == wait
    assert state["attempts"][1]["waited_ms"] == wait * 1000
    assert state["served_by"] == "openai"
    assert openai_circuit(store, openai_emu) is None
    assert ollama_emu.requests == []


def test_second_short_429_fails_over_and_opens_for_its_retry_after(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock, store: MemoryStore
) -> None:
    """Only one retry per turn; the second 429 opens the circuit for its Retry-After."""
    openai_emu.always(rate_limited(retry_after=2))
    state = turn(graph_with())
    assert route(state) == [
        ("openai", "rate_limited"),
        ("openai", "rate_limited"),
        ("ollama", None),
    ]
    assert clock.sleeps == [2]
    assert openai_circuit(store, openai_emu)["open_until"] == T0 + 2 + 2


@pytest.mark.parametrize(
    ("fault", "open_for"),
    [(rate_limited(retry_after=120), 120), (rate_limited(), 30)],
    ids=["retry-after-120", "no-retry-after"],
)
def test_long_or_absent_retry_after_fails_over_at_once(
    graph_with: MakeGraph,
    openai_emu: OpenAIEmulator,
    clock: FakeClock,
    store: MemoryStore,
    fault: Any,
    open_for: float,
) -> None:
    """Retry-After over the budget (or none): fail over now, circuit open that long."""
    openai_emu.script(fault)
    assert route(turn(graph_with())) == [("openai", "rate_limited"), ("ollama", None)]
    assert clock.sleeps == []
    assert openai_circuit(store, openai_emu)["open_until"] == T0 + open_for


def test_retry_that_would_overrun_the_turn_budget_is_skipped(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """A Retry-After inside the retry budget but past the turn budget is not waited."""
    openai_emu.script(rate_limited(retry_after=4))
    state = turn(graph_with(turn_budget=3))
    assert route(state) == [("openai", "rate_limited"), ("ollama", None)]
    assert clock.sleeps == []


def test_spent_turn_budget_leaves_only_the_mock(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A hung primary eats the turn budget: Ollama is not called, the mock answers."""
    openai_emu.script(hang(seconds=10))
    state = turn(graph_with(timeout=0.3, turn_budget=0.2))
    assert route(state) == [("openai", "timeout"), ("ollama", "timeout"), ("mock", None)]
    assert "turn budget of 0.2s spent" in state["attempts"][1]["detail"]
    assert ollama_emu.requests == []


def test_consecutive_failures_open_the_circuit_at_the_threshold(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock, store: MemoryStore
) -> None:
    """5xx: fail over every time; the circuit opens only after 3 in a row; success resets."""
    graph = graph_with()
    openai_emu.script(server_error(500), server_error(502), ok())
    for _ in range(3):
        turn(graph)
    assert openai_circuit(store, openai_emu) is None  # reset by the success
    openai_emu.always(server_error(503))
    turn(graph)
    turn(graph)
    assert openai_circuit(store, openai_emu) == {
        "failures": 2,
        "open_until": None,
        "reason": "server_error",
        "since": clock.now(),
    }
    turn(graph)
    assert openai_circuit(store, openai_emu)["open_until"] == T0 + 30
    assert route(turn(graph))[0] == ("openai", "circuit_open")
    assert len(openai_emu.requests) == 6


def test_failed_probe_reopens_the_circuit(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock, store: MemoryStore
) -> None:
    """After the cooldown one probe goes through; its failure reopens the circuit."""
    graph = graph_with(failure_threshold=1, failure_cooldown=10)
    openai_emu.always(server_error(500))
    turn(graph)
    clock.advance(11)
    assert route(turn(graph))[0] == ("openai", "server_error")
    assert openai_circuit(store, openai_emu)["open_until"] == T0 + 11 + 10
    assert route(turn(graph))[0] == ("openai", "circuit_open")
    assert len(openai_emu.requests) == 2


async def test_one_probe_at_a_time(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """Two concurrent turns after the cooldown: one probes, the other skips the provider."""
    graph = graph_with()
    openai_emu.script(quota())
    turn(graph)
    clock.advance(301)
    openai_emu.always(ok(delay=0.3))
    states = await asyncio.gather(
        *(graph.ainvoke({"messages": [HumanMessage(f"t{i}")]}) for i in range(2))
    )
    assert sorted((route(s)[0] for s in states), key=str) == [
        ("openai", "circuit_open"),
        ("openai", None),
    ]
    assert len(openai_emu.requests) == 2


def test_circuits_are_shared_by_graphs_and_keyed_by_upstream(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """Every graph in the process shares a circuit; another API key is another circuit."""
    openai_emu.script(quota())
    turn(make_graph())
    assert route(turn(make_graph()))[0] == ("openai", "circuit_open")
    other_key = make_graph(openai_api_key="sk-test-another-account-0000")
    assert route(turn(other_key))[0] == ("openai", None)


def test_sticky_thread_survives_a_fresh_process_and_returns_when_healthy(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A new process (no circuits) still skips the primary until the cooldown ends."""
    saver, clock = InMemorySaver(), FakeClock(start=T0)
    openai_emu.script(quota())
    first = make_graph(checkpointer=saver, clock=clock.clock, circuit_store=MemoryStore())
    state = turn(first, "I'm Aiko", thread="aiko")
    assert state["sticky"] == {
        "node": "ollama", "provider": "ollama", "reason": "insufficient_quota",
        "until": T0 + 300,
        "skip": {"openai": {"until": T0 + 300, "reason": "insufficient_quota",
                            "key": circuit_key("openai", openai_emu.base_url, "gpt-4o-mini",
                                               FAKE_KEY)}},
    }  # fmt: skip
    # "a fresh process": a new graph with an empty circuit store, the same checkpoints
    fresh = make_graph(checkpointer=saver, clock=clock.clock, circuit_store=MemoryStore())
    state = turn(fresh, "still there?", thread="aiko")
    assert route(state) == [("openai", "circuit_open"), ("ollama", None)]
    assert state["attempts"][0]["detail"].startswith("skipped by this thread")
    assert state["sticky"]["reason"] == "insufficient_quota"  # the first cause is kept
    assert len(openai_emu.requests) == 1
    clock.advance(300)
    state = turn(fresh, "back?", thread="aiko")
    assert route(state) == [("openai", None)]
    assert state["sticky"] is None
    assert [m["content"] for m in openai_emu.requests[-1].messages] == [
        m.content for m in state["messages"][:-1]
    ]
    assert len(state["messages"]) == 6


@pytest.mark.parametrize(
    ("setting", "value", "needle"),
    [
        ("LLM_FAILOVER_QUOTA_COOLDOWN", "five", "LLM_FAILOVER_QUOTA_COOLDOWN: expected a number"),
        ("LLM_FAILOVER_RETRY_BUDGET", "-1", "LLM_FAILOVER_RETRY_BUDGET: must be"),
        ("LLM_FAILOVER_TURN_BUDGET", "0", "LLM_FAILOVER_TURN_BUDGET: must be a positive"),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", "2.5", "LLM_FAILOVER_FAILURE_THRESHOLD: expected a"),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", "0", "LLM_FAILOVER_FAILURE_THRESHOLD: must be 1"),
        ("LLM_FAILOVER_FAILURE_COOLDOWN", "nan", "LLM_FAILOVER_FAILURE_COOLDOWN: must be"),
    ],
)
def test_malformed_policy_settings_are_refused(
    make_graph: MakeGraph, monkeypatch: pytest.MonkeyPatch, setting: str, value: str, needle: str
) -> None:
    """Each malformed number names its setting when the graph is built."""
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigError, match=needle):
        make_graph()


def test_a_message_sent_again_is_a_new_turn(
    graph_with: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    clock: FakeClock,
) -> None:
    """The same message object sent again after a failure is a fresh turn."""
    graph = graph_with(checkpointer=InMemorySaver(), fallback_provider="ollama")
    config: Any = {"configurable": {"thread_id": "again"}}
    message = HumanMessage("hello")
    openai_emu.script(rate_limited(retry_after=3), rate_limited(retry_after=3))
    ollama_emu.script(busy())
    with pytest.raises(AllProvidersFailed) as caught:
        graph.invoke({"messages": [message]}, config)
    assert len(caught.value.attempts) == 3
    openai_emu.script(rate_limited(retry_after=1), ok())
    clock.sleeps.clear()
    clock.advance(10)  # past the circuit the second 429 opened
    state = graph.invoke({"messages": [message]}, config)
    assert route(state) == [("openai", "rate_limited"), ("openai", None)]
    assert clock.sleeps == [1]


def test_sticky_entry_is_ignored_for_another_upstream(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """A thread stuck on Ollama for one API key's quota uses OpenAI again with a new key."""
    saver, clock = InMemorySaver(), FakeClock(start=T0)
    openai_emu.script(quota())
    old = make_graph(checkpointer=saver, clock=clock.clock)
    turn(old, "one", thread="keys")
    assert route(turn(old, "two", thread="keys")) == [("openai", "circuit_open"), ("ollama", None)]
    new_key = make_graph(checkpointer=saver, clock=clock.clock,
                         openai_api_key="sk-test-a-new-key-00000000")  # fmt: skip
    assert route(turn(new_key, "three", thread="keys")) == [("openai", None)]


def test_probe_that_must_wait_keeps_the_circuit_and_its_claim(
    make_graph: MakeGraph,
    graph_with: MakeGraph,
    openai_emu: OpenAIEmulator,
    clock: FakeClock,
    store: MemoryStore,
) -> None:
    """A probe told to wait keeps the circuit open and its claim while it waits."""
    graph = graph_with()
    openai_emu.script(quota())
    turn(graph)
    clock.advance(301)
    openai_emu.script(rate_limited(retry_after=1), ok())
    seen: list[Any] = []
    real_sleep = clock.sleep

    def sleep_and_look(seconds: float) -> None:
        seen.append(openai_circuit(store, openai_emu))
        seen.append(store.admit(circuit_key("openai", openai_emu.base_url, "gpt-4o-mini",
                                            FAKE_KEY), clock.now(), 1)[0])  # fmt: skip
        real_sleep(seconds)

    looking = dataclasses.replace(clock.clock, sleep=sleep_and_look)
    graph = make_graph(clock=looking, circuit_store=store)
    state = turn(graph)
    assert route(state) == [("openai", "rate_limited"), ("openai", None)]
    assert [a["probe"] for a in state["attempts"]] == [True, True]
    assert seen[0]["open_until"] == T0 + 300  # still open during the wait
    assert seen[1] == "skip"  # and nobody else may probe
    assert openai_circuit(store, openai_emu) is None  # the probe's success closed it


def test_probe_claim_is_released_when_the_probe_raises(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """A probe that ends in a raised 400 does not leave the provider unprobeable."""
    graph = graph_with()
    openai_emu.script(quota())
    turn(graph)
    clock.advance(301)
    openai_emu.script(bad_request())
    with pytest.raises(openai.BadRequestError):
        turn(graph)
    assert route(turn(graph)) == [("openai", None)]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_turn_budget_cuts_a_hung_call(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """A hung primary is cut at the turn budget, not at the (longer) per-call timeout."""
    openai_emu.script(hang(seconds=10))
    graph = graph_with(timeout=5, turn_budget=0.4)
    payload = {"messages": [HumanMessage("hi")]}
    started = time.perf_counter()
    state = graph.invoke(payload) if mode == "invoke" else await graph.ainvoke(payload)
    elapsed = time.perf_counter() - started
    assert route(state)[0] == ("openai", "timeout")
    assert state["served_by"] == "mock"  # the budget was spent: Ollama not asked
    assert elapsed < 2.5  # well under the 5 s timeout; the budget is not a benchmark


def test_failure_counts_fade_with_their_ttl(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock, store: MemoryStore
) -> None:
    """Three 500s far apart (past the counting window) do not open the circuit."""
    graph = graph_with()
    openai_emu.always(server_error(500))
    for _ in range(3):
        turn(graph)
        clock.advance(400)
    assert store.get(circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY),
                     clock.now()) is None  # fmt: skip
    assert route(turn(graph))[0] == ("openai", "server_error")
