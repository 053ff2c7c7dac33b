"""Streaming through the graph: tokens from whoever answers, a failover event before them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    busy,
    cut,
    quota,
)
from tests.conftest import MakeGraph, failover

USER = {"messages": [("user", "Tell me about particles")]}
OLLAMA_TEXT = "[ollama qwen2.5:0.5b] reply to: Tell me about particles"
OPENAI_TEXT = "[openai gpt-4o-mini] reply to: Tell me about particles"


async def collect(graph: Any, mode: str, config: Any = None) -> list[tuple[str, Any]]:
    """The (kind, payload) stream of one turn: token chunks with their node, and events."""
    modes = ["messages", "custom"]
    if mode == "stream":
        parts = list(graph.stream(USER, config, stream_mode=modes))
    else:
        parts = [p async for p in graph.astream(USER, config, stream_mode=modes)]
    out: list[tuple[str, Any]] = []
    for kind, payload in parts:
        if kind == "messages":
            chunk, meta = payload
            assert isinstance(chunk.content, str)
            out.append((meta["langgraph_node"], chunk.content))
        else:
            out.append(("event", payload))
    return out


def text_of(parts: list[tuple[str, Any]], node: str) -> str:
    """The streamed text of one node."""
    return "".join(content for who, content in parts if who == node)


MODES = ["stream", "astream"]


@pytest.mark.parametrize("mode", MODES)
async def test_healthy_primary_streams_its_tokens(make_graph: MakeGraph, mode: str) -> None:
    """Only the primary's tokens, several of them, adding up to the answer; no event."""
    parts = await collect(make_graph(), mode)
    assert {who for who, _ in parts} == {"openai"}
    assert text_of(parts, "openai") == OPENAI_TEXT
    assert len([c for _, c in parts if c]) > 3


@pytest.mark.parametrize("mode", MODES)
async def test_failure_before_first_token_leaks_nothing(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """A quota 429 streams no token; the failover event comes before Ollama's tokens."""
    openai_emu.script(quota())
    parts = await collect(make_graph(), mode)
    assert text_of(parts, "openai") == ""
    event_at = parts.index(
        ("event", failover("openai", "ollama", "insufficient_quota"))
    )  # fmt: skip
    assert all(who != "ollama" for who, _ in parts[:event_at])
    assert text_of(parts, "ollama") == OLLAMA_TEXT


@pytest.mark.parametrize("mode", MODES)
async def test_mid_stream_cut_fails_over_and_keeps_only_the_backup(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """Partial tokens, the event, the backup's answer; the checkpoint keeps only the last."""
    openai_emu.script(cut(after=3))
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": f"cut-{mode}"}}
    parts = await collect(make_graph(checkpointer=saver), mode, config)
    partial = text_of(parts, "openai")
    assert partial and OPENAI_TEXT.startswith(partial) and partial != OPENAI_TEXT
    kinds = [who for who, _ in parts]
    event = failover("openai", "ollama", "connection")
    event_at = parts.index(("event", event))
    assert "openai" not in kinds[event_at:] and "ollama" not in kinds[:event_at]
    saved = saver.get_tuple(config)
    assert saved is not None
    messages = saved.checkpoint["channel_values"]["messages"]
    assert [(m.type, m.content) for m in messages] == [
        ("human", "Tell me about particles"),
        ("ai", OLLAMA_TEXT),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_each_failover_has_its_event(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, mode: str
) -> None:
    """Both down: two events in order, then the mock streams its answer word by word."""
    openai_emu.script(quota())
    ollama_emu.script(busy())
    parts = await collect(make_graph(), mode)
    events = [payload for who, payload in parts if who == "event"]
    assert events == [
        failover("openai", "ollama", "insufficient_quota"),
        failover("ollama", "mock", "server_error"),
    ]
    mock_chunks = [c for who, c in parts if who == "mock"]
    assert len(mock_chunks) > 5
    assert "".join(mock_chunks).startswith("[FALLBACK]")


async def test_open_circuit_is_announced_too(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """A provider skipped for its open circuit is a failover like any other."""
    graph = make_graph()
    openai_emu.script(quota())
    graph.invoke(USER)
    parts = await collect(graph, "astream")
    assert ("event", failover("openai", "ollama", "circuit_open")) in parts  # fmt: skip
    assert len(openai_emu.requests) == 1


async def test_astream_events_carry_the_failover_signal(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """astream_events v2 (how FastAPI apps stream SSE): on_custom_event before the tokens."""
    openai_emu.script(cut(after=2))
    seen: list[tuple[str, Any]] = []
    async for event in make_graph().astream_events(USER, version="v2"):
        if event["event"] == "on_chat_model_stream":
            chunk = event["data"]["chunk"]
            assert isinstance(chunk.content, str)
            seen.append((event["metadata"]["langgraph_node"], chunk.content))
        elif event["event"] == "on_custom_event":
            seen.append((event["name"], event["data"]))
    event_at = seen.index(
        ("failover", failover("openai", "ollama", "connection"))
    )  # fmt: skip
    assert "".join(c for who, c in seen[event_at:] if who == "ollama") == OLLAMA_TEXT
    assert all(who == "openai" for who, _ in seen[:event_at])


def test_sync_stream_starts_no_event_loop(
    make_graph: MakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Flask-style caller: streaming through the graph never creates an event loop."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an event loop was started")

    monkeypatch.setattr(asyncio, "new_event_loop", refuse)
    monkeypatch.setattr(asyncio, "run", refuse)
    chunks = list(make_graph().stream({"messages": [("user", "hi")]}, stream_mode="messages"))
    assert chunks
