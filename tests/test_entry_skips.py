"""Entry skips: a turn starts at the first provider not known to be down.

The entry edge reads this thread's `sticky` record and the shared circuits; the providers
it skips never run their nodes (no graph step, no checkpoint write, no request), and the
node the turn starts at records them as `circuit_open` attempts. Time is a FakeClock.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import AllProvidersFailed
from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator, busy, ok, quota
from tests.conftest import T0, MakeGraph, failover


def steps(graph: FailoverGraph, text: str, config: Any = None, **kwargs: Any) -> list[Any]:
    """The turn's streamed node updates and custom events, as (mode, data) pairs."""
    chunks = graph.stream(
        {"messages": [HumanMessage(text)]}, config, stream_mode=["updates", "custom"], **kwargs
    )
    return list(chunks)


def nodes_run(chunks: list[Any]) -> list[str]:
    """The nodes that ran, in order."""
    return [name for mode, data in chunks if mode == "updates" for name in data]


def events(chunks: list[Any]) -> list[Any]:
    """The custom stream events (failover announcements)."""
    return [data for mode, data in chunks if mode == "custom"]


def last_attempts(graph: FailoverGraph, config: Any) -> list[tuple[str, str | None]]:
    """The checkpointed attempts of the thread's last turn, as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in graph.get_state(config).values["attempts"]]


def test_an_open_circuit_is_skipped_without_running_its_node(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Another thread opened the circuit: this one starts at Ollama, one node, one event."""
    graph = graph_with(checkpointer=InMemorySaver())
    openai_emu.script(quota())
    graph.invoke({"messages": [HumanMessage("opens it")]}, {"configurable": {"thread_id": "a"}})
    config = {"configurable": {"thread_id": "b"}}
    chunks = steps(graph, "fresh thread", config)
    assert nodes_run(chunks) == ["ollama"]
    assert events(chunks) == [failover("openai", "ollama", "circuit_open")]
    attempts = graph.get_state(config).values["attempts"]
    skipped = attempts[0]
    assert (skipped["node"], skipped["error"], skipped["status_code"]) == (
        "openai", "circuit_open", None
    )  # fmt: skip
    assert skipped["detail"] == "circuit open after insufficient_quota, 300 s left; no request made"
    assert skipped["open_until"] == T0 + 300 and skipped["latency_ms"] == 0.0
    assert [a["node"] for a in attempts] == ["openai", "ollama"]
    assert len(openai_emu.requests) == 1 and len(ollama_emu.requests) == 2


async def test_async_callers_skip_the_same_way(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """Async callers (ainvoke, astream) read circuits with the async store method, alike."""
    graph = graph_with(checkpointer=InMemorySaver())
    openai_emu.script(quota())
    await graph.ainvoke(
        {"messages": [HumanMessage("opens it")]}, {"configurable": {"thread_id": "a"}}
    )
    config = {"configurable": {"thread_id": "async"}}
    chunks = [
        c
        async for c in graph.astream(
            {"messages": [HumanMessage("hi")]}, config, stream_mode=["updates", "custom"]
        )
    ]
    assert nodes_run(chunks) == ["ollama"]
    assert last_attempts(graph, config) == [("openai", "circuit_open"), ("ollama", None)]
    assert len(openai_emu.requests) == 1


def test_a_sticky_thread_is_not_announced_again(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """The thread's own record skips OpenAI: recorded each turn, announced only once."""
    graph = graph_with(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "sticky"}}
    openai_emu.script(quota())
    first = steps(graph, "one", config)
    assert events(first) == [failover("openai", "ollama", "insufficient_quota")]
    second = steps(graph, "two", config)
    assert (nodes_run(second), events(second)) == (["ollama"], [])
    assert last_attempts(graph, config) == [("openai", "circuit_open"), ("ollama", None)]
    assert graph.get_state(config).values["sticky"]["reason"] == "insufficient_quota"


def test_a_circuit_due_a_probe_is_entered(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """Once the cooldown is over the turn starts at the primary, whose node probes it."""
    graph = graph_with()
    openai_emu.script(quota())
    graph.invoke({"messages": [HumanMessage("opens it")]})
    clock.advance(301)
    chunks = steps(graph, "probe")
    assert nodes_run(chunks) == ["openai"]
    assert len(openai_emu.requests) == 2


def test_a_runs_own_stricter_policy_skips_for_that_run_only(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """A run with a longer quota cooldown skips a circuit the graph would probe; others don't."""
    graph = graph_with(run_settings="all")
    openai_emu.script(quota())
    graph.invoke({"messages": [HumanMessage("opens it")]})
    clock.advance(301)
    strict = steps(graph, "strict", context={"quota_cooldown": 600})
    assert nodes_run(strict) == ["ollama"]
    assert len(openai_emu.requests) == 1
    assert nodes_run(steps(graph, "default")) == ["openai"]


def test_every_provider_skipped_ends_in_all_providers_failed(
    graph_with: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    store: MemoryStore,
) -> None:
    """Without the mock the last provider still runs; the error names every cause."""
    graph = graph_with(fallback_provider="ollama", failure_threshold=1)
    openai_emu.script(quota())
    ollama_emu.always(busy())
    with pytest.raises(AllProvidersFailed):
        graph.invoke({"messages": [HumanMessage("opens both")]})
    with pytest.raises(AllProvidersFailed) as caught:
        graph.invoke({"messages": [HumanMessage("both open")]})
    assert [(a["node"], a["error"]) for a in caught.value.attempts] == [
        ("openai", "circuit_open"),
        ("ollama", "circuit_open"),
    ]
    assert "openai(gpt-4o-mini): circuit open after insufficient_quota" in str(caught.value)
    assert (len(openai_emu.requests), len(ollama_emu.requests)) == (1, 1)


def test_a_healthy_turn_runs_only_the_primary(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Closed circuits: the entry edge starts at the primary, and nothing is skipped."""
    openai_emu.script(ok())
    graph = graph_with(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "healthy"}}
    chunks = steps(graph, "hi", config)
    assert (nodes_run(chunks), events(chunks)) == (["openai"], [])
    assert last_attempts(graph, config) == [("openai", None)]
    assert len(ollama_emu.requests) == 0


def test_spent_requests_are_skipped_at_the_entry(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """No request left for 60 s (beyond the retry budget): the primary's node never runs."""
    graph = graph_with()
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    assert nodes_run(steps(graph, "spends it")) == ["openai"]
    chunks = steps(graph, "paced")
    assert nodes_run(chunks) == ["ollama"]
    assert events(chunks) == [failover("openai", "ollama", "paced")]
    assert len(openai_emu.requests) == 1 and openai_emu.limited == 0


def test_spent_requests_within_the_retry_budget_are_waited_for_at_the_primary(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """A reset 3 s ahead fits the retry budget: the turn starts at the primary, which waits."""
    graph = graph_with()
    openai_emu.rate_limits(requests=1, window=3.0, now=clock.now)
    steps(graph, "spends it")
    assert nodes_run(steps(graph, "waits")) == ["openai"]
    assert len(openai_emu.requests) == 2 and clock.sleeps == [pytest.approx(3.0, abs=0.1)]
