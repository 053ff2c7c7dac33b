"""Transient server errors: one quick retry of the same provider before failing over.

Time is a FakeClock, so the exact backoff slept is seen; the providers are the
emulators, called by the real clients.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.graph.routing import BACKOFF, backoff
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import (
    FakeClock,
    OllamaEmulator,
    OpenAIEmulator,
    busy,
    cut,
    hang,
    ok,
    server_error,
)
from tests.conftest import FAKE_KEY, MakeGraph

MODES = ["invoke", "ainvoke", "stream", "astream"]
_STREAM: Any = ["messages", "values"]


@pytest.fixture
def graph_with(graph_with: MakeGraph) -> MakeGraph:
    """The shared graph_with, with the shipped server retries (conftest turns them off)."""

    def make(**overrides: Any) -> FailoverGraph:
        return graph_with(**{"server_retries": None, **overrides})  # None: the default

    return make


async def turn(graph: FailoverGraph, mode: str = "invoke", **kw: Any) -> tuple[Any, str]:
    """One turn as a sync, async or streaming caller makes it: final state, streamed text."""
    inputs: Any = {"messages": [HumanMessage("hi")]}
    if mode == "invoke":
        return graph.invoke(inputs, **kw), ""
    if mode == "ainvoke":
        return await graph.ainvoke(inputs, **kw), ""
    parts = (
        list(graph.stream(inputs, stream_mode=_STREAM, **kw))
        if mode == "stream"
        else [p async for p in graph.astream(inputs, stream_mode=_STREAM, **kw)]
    )
    state = [payload for kind, payload in parts if kind == "values"][-1]
    text = "".join(
        str(payload[0].content)
        for kind, payload in parts
        if kind == "messages" and isinstance(payload[0], AIMessageChunk)
    )
    return state, text


def route(state: Any) -> list[tuple[str, str | None]]:
    """The turn's attempts as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


def circuit(store: MemoryStore, emu: OpenAIEmulator) -> Any:
    """The OpenAI primary's circuit record (None: closed)."""
    return store.get(circuit_key("openai", emu.base_url, "gpt-4o-mini", FAKE_KEY))


@pytest.mark.parametrize("mode", MODES)
async def test_one_500_is_retried_on_the_primary(
    mode: str,
    graph_with: MakeGraph,
    openai_emu: OpenAIEmulator,
    clock: FakeClock,
    store: MemoryStore,
) -> None:
    """500 then ok: the primary answers on its retry, after the recorded backoff, uncounted."""
    openai_emu.script(server_error(500), ok("fine"))
    state, text = await turn(graph_with(), mode)
    assert route(state) == [("openai", "server_error"), ("openai", None)]
    first, second = state["attempts"]
    assert BACKOFF[0] <= first["backoff"] <= BACKOFF[1]
    assert clock.sleeps == [first["backoff"]]
    assert second["waited_ms"] == first["backoff"] * 1000
    assert first["backoff"] == backoff(first["turn"], "openai", first["step"])
    assert state["messages"][-1].content == "fine"
    assert text == ("fine" if mode.endswith("stream") else "")
    assert circuit(store, openai_emu) is None  # the retry's verdict (success) counts alone


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_each_transient_status_is_retried(
    status: int, graph_with: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """500, 502, 503 (no Retry-After) and 504 get the retry."""
    openai_emu.script(server_error(status), ok())
    state, _ = await turn(graph_with())
    assert route(state) == [("openai", "server_error"), ("openai", None)]


@pytest.mark.parametrize("fault", [server_error(501), cut(after=1), hang(seconds=30)])
async def test_other_faults_fail_over_at_once(
    fault: Any, graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """501, a stream cut mid-answer and a timeout are not retried."""
    openai_emu.script(fault)
    state, _ = await turn(graph_with(timeout=0.5))
    assert [a["node"] for a in state["attempts"]] == ["openai", "ollama"]
    assert state["attempts"][0]["backoff"] is None
    assert clock.sleeps == []


async def test_a_connection_dropped_before_any_response_is_retried(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """The server closing the connection before the first byte counts as transient."""
    openai_emu.script(hang(seconds=0), ok())
    state, _ = await turn(graph_with())
    assert route(state) == [("openai", "connection"), ("openai", None)]


async def test_the_backup_gets_its_retry_too(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Ollama's 503 "server busy" is retried on Ollama before the mock answers."""
    openai_emu.script(server_error(), server_error())
    ollama_emu.script(busy(), ok())
    state, _ = await turn(graph_with())
    assert [a["node"] for a in state["attempts"]] == ["openai", "openai", "ollama", "ollama"]
    assert state["served_by"] == "ollama"


@pytest.mark.parametrize("how", ["setting", "context"])
async def test_zero_retries_fail_over_at_once(
    how: str, graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """LLM_FAILOVER_SERVER_RETRIES=0 (or a run's server_retries=0): no retry, no wait."""
    openai_emu.script(server_error(500), ok())
    if how == "setting":
        state, _ = await turn(graph_with(server_retries=0))
    else:
        graph = graph_with(run_settings="server_retries")  # a deployer's grant
        state, _ = await turn(graph, context={"server_retries": 0})
    assert route(state) == [("openai", "server_error"), ("ollama", None)]
    assert clock.sleeps == []


async def test_two_500s_fail_over_after_one_retry(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock, store: MemoryStore
) -> None:
    """A second 500 fails over; the turn counts once toward the circuit."""
    openai_emu.script(server_error(500), server_error(500))
    state, _ = await turn(graph_with())
    failed = ("openai", "server_error")
    assert route(state) == [failed, failed, ("ollama", None)]
    assert clock.sleeps == [state["attempts"][0]["backoff"]]
    assert circuit(store, openai_emu)["failures"] == 1


async def test_a_503_retry_after_within_budget_is_waited_out(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """A 503 with Retry-After follows the Retry-After rule: that wait, not a backoff."""
    openai_emu.script(server_error(503, retry_after=2), ok())
    state, _ = await turn(graph_with())
    assert route(state) == [("openai", "server_error"), ("openai", None)]
    assert state["attempts"][0]["retry_after"] == 2
    assert clock.sleeps == [2]


async def test_a_503_retry_after_beyond_budget_fails_over(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """A Retry-After longer than LLM_FAILOVER_RETRY_BUDGET fails over, with no backoff either."""
    openai_emu.script(server_error(503, retry_after=60), ok())
    state, _ = await turn(graph_with())
    assert route(state) == [("openai", "server_error"), ("ollama", None)]
    assert clock.sleeps == []


async def test_the_retry_respects_the_turn_budget(
    graph_with: MakeGraph, openai_emu: OpenAIEmulator, clock: FakeClock
) -> None:
    """With less turn budget left than the backoff, the turn fails over instead of waiting."""
    openai_emu.script(server_error(500), ok())
    state, _ = await turn(graph_with(turn_budget=BACKOFF[0]))
    assert [a["node"] for a in state["attempts"]][:2] == ["openai", "ollama"]
    assert clock.sleeps == []


def test_the_backoff_is_jittered_and_reproducible() -> None:
    """Derived from turn, node and step: the same inputs wait the same, turns spread out."""
    waits = {backoff(f"turn-{i}", "openai", 1) for i in range(50)}
    assert all(BACKOFF[0] <= w <= BACKOFF[1] for w in waits)
    assert len(waits) > 25
    assert backoff("t", "openai", 3) == backoff("t", "openai", 3)
