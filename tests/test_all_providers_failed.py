"""`AllProvidersFailed` names each provider's real cause, open circuits included.

A chain without the mock (`fallback_provider="ollama"`), the real clients against the
emulators, time on a FakeClock, circuits in a MemoryStore of the test's own.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import AllProvidersFailed
from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator, busy, ok, quota
from tests.conftest import T0, MakeGraph


@pytest.fixture
def graph(make_graph: MakeGraph, clock: FakeClock) -> FailoverGraph:
    """OpenAI then Ollama, no mock, with a checkpointer and circuits of its own."""
    return make_graph(fallback_provider="ollama", clock=clock.clock,
                      circuit_store=MemoryStore(), checkpointer=InMemorySaver())  # fmt: skip


async def fails(graph: FailoverGraph, mode: str, config: Any = None) -> AllProvidersFailed:
    """One turn that must raise `AllProvidersFailed`, sync or async; the error."""
    payload = {"messages": [HumanMessage("hi")]}
    try:
        if mode == "invoke":
            graph.invoke(payload, config)
        else:
            await graph.ainvoke(payload, config)
    except AllProvidersFailed as exc:
        return exc
    pytest.fail("the turn was answered")


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_open_circuit_names_its_quota_and_the_seconds_left(
    mode: str,
    graph: FailoverGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    clock: FakeClock,
) -> None:
    """After a quota error, a later turn's message says why OpenAI was skipped and how long."""
    openai_emu.always(quota())
    ollama_emu.always(busy())
    config = {"configurable": {"thread_id": f"t-{mode}"}}
    first = await fails(graph, mode, config)
    assert "openai(gpt-4o-mini): insufficient_quota [429]" in str(first)
    clock.advance(60)
    second = await fails(graph, mode, config)
    assert str(second) == (
        "all providers failed: openai(gpt-4o-mini): circuit open after insufficient_quota, "
        "240 s left; ollama(qwen2.5:0.5b): server_error [503]"
    )
    skipped = second.attempts[0]
    assert skipped["error"] == "circuit_open" and skipped["open_until"] == T0 + 300
    assert skipped["detail"] == (
        "circuit open after insufficient_quota, 240 s left; no request made"
    )
    assert len(openai_emu.requests) == 1
    again = pickle.loads(pickle.dumps(second))
    assert (str(again), again.attempts) == (str(second), second.attempts)


async def test_a_provider_the_thread_skips_is_named_too(
    graph: FailoverGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    clock: FakeClock,
) -> None:
    """A thread that skips OpenAI (sticky) and finds Ollama down: both causes in the message."""
    config = {"configurable": {"thread_id": "t-sticky"}}
    openai_emu.always(quota())
    ollama_emu.script(ok())
    assert graph.invoke({"messages": [HumanMessage("hi")]}, config)["served_by"] == "ollama"
    ollama_emu.always(busy())
    clock.advance(100)
    error = await fails(graph, "ainvoke", config)
    assert str(error) == (
        "all providers failed: openai(gpt-4o-mini): skipped by this thread, circuit open "
        "after insufficient_quota, 200 s left; ollama(qwen2.5:0.5b): server_error [503]"
    )
    skipped = error.attempts[0]
    assert (skipped["node"], skipped["error"], skipped["open_until"]) == (
        "openai", "circuit_open", T0 + 300
    )  # fmt: skip
    assert [a["node"] for a in error.attempts] == ["openai", "ollama"]
    assert len(openai_emu.requests) == 1  # the thread made no request to it
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.attempts) == (str(error), error.attempts)
