"""Every route through the graph, driven by real SDK clients against the emulators."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import AllProvidersFailed
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import PROCESS_STORE, MemoryStore
from langgraph_failover.testing import (
    Behaviour,
    FakeClock,
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    cut,
    empty,
    forbidden,
    hang,
    not_found,
    ok,
    quota,
    rate_limited,
    server_error,
    unauthorized,
)
from tests.conftest import FAKE_KEY, T0, MakeGraph, dead_url

USER = {"messages": [("user", "Konnichiwa! My name is Aiko.")]}


async def run(graph: Any, mode: str, payload: Any, config: Any = None) -> dict[str, Any]:
    """Run one turn as a sync or async caller would: invoke, or stream tokens and values.

    Streaming with "messages" makes the chat models stream over the wire (SSE, NDJSON),
    so the streaming error paths of the SDKs are exercised too.
    """
    if mode == "invoke":
        return dict(graph.invoke(payload, config))
    if mode == "ainvoke":
        return dict(await graph.ainvoke(payload, config))
    modes = ["messages", "values"]
    if mode == "stream":
        parts = list(graph.stream(payload, config, stream_mode=modes))
    else:
        parts = [part async for part in graph.astream(payload, config, stream_mode=modes)]
    return dict([value for kind, value in parts if kind == "values"][-1])


MODES = ["invoke", "ainvoke", "stream", "astream"]

# fault, error kind, HTTP status, seconds the circuit opens for (None: only counted)
OPENAI_FAULTS: list[tuple[Behaviour, str, int | None, float | None]] = [
    (quota(), "insufficient_quota", 429, 300),
    (rate_limited(retry_after=30), "rate_limited", 429, 30),
    (rate_limited(), "rate_limited", 429, 30),
    (server_error(500), "server_error", 500, None),
    (server_error(503), "server_error", 503, None),
    (busy(), "server_error", 503, None),
    (unauthorized(), "auth", 401, None),
    (forbidden(), "auth", 403, None),
    (not_found(), "not_found", 404, None),
    (hang(seconds=30), "timeout", None, None),
    (cut(after=1), "connection", None, None),
]


@pytest.mark.parametrize("mode", MODES)
async def test_healthy_primary_answers(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, mode: str
) -> None:
    """A healthy primary answers alone: one ok attempt, no request to the fallback."""
    state = await run(make_graph(), mode, USER)
    answer = state["messages"][-1]
    assert answer.content == "[openai gpt-4o-mini] reply to: Konnichiwa! My name is Aiko."
    assert state["served_by"] == "openai"
    assert state["degraded"] is False
    (attempt,) = state["attempts"]
    assert attempt["provider"] == "openai" and attempt["ok"] is True
    assert attempt["error"] is None and attempt["status_code"] is None
    assert answer.response_metadata["failover"] == {
        "served_by": "openai",
        "degraded": False,
        "attempts": state["attempts"],
    }
    assert len(openai_emu.requests) == 1
    assert ollama_emu.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "kind", "status", "open_for"), OPENAI_FAULTS, ids=lambda v: str(v)
)
async def test_primary_fault_fails_over_to_ollama(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    fault: Behaviour,
    kind: str,
    status: int | None,
    open_for: float | None,
    mode: str,
) -> None:
    """Each primary fault: classified, recorded, circuit set, checkpointed, Ollama answers."""
    openai_emu.script(fault)
    clock, store, saver = FakeClock(start=T0), MemoryStore(), InMemorySaver()
    graph = make_graph(timeout=0.5, checkpointer=saver, clock=clock.clock, circuit_store=store)
    config = {"configurable": {"thread_id": f"matrix-{mode}"}}
    state = await run(graph, mode, USER, config)
    circuit = store.get(circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY))
    assert circuit == {
        "failures": 0 if kind in ("insufficient_quota", "rate_limited") else 1,
        "open_until": T0 + open_for if open_for else None,
        "reason": kind,
        "since": T0,
    }
    assert state["attempts"][0]["open_until"] == circuit["open_until"]
    saved = saver.get_tuple(config)
    assert saved is not None
    assert saved.checkpoint["channel_values"]["attempts"] == state["attempts"]
    assert [m.type for m in saved.checkpoint["channel_values"]["messages"]] == ["human", "ai"]
    failed, served = state["attempts"]
    assert (failed["provider"], failed["ok"], failed["error"], failed["status_code"]) == (
        "openai",
        False,
        kind,
        status,
    )
    assert failed["latency_ms"] > 0
    assert (served["provider"], served["ok"]) == ("ollama", True)
    assert state["served_by"] == "ollama" and state["degraded"] is False
    assert state["messages"][-1].content.startswith("[ollama qwen2.5:0.5b] reply to:")
    # max_retries=0: the graph, not the SDK, owns retries
    assert len(openai_emu.requests) == 1
    assert len(ollama_emu.requests) == 1


OLLAMA_FAULTS: list[tuple[Behaviour, str, int | None]] = [
    (busy(), "server_error", 503),
    (not_found(), "not_found", 404),
    (server_error(500), "server_error", 500),
    (empty(), "server_error", None),
    (hang(seconds=30), "timeout", None),
    (cut(after=1), "connection", None),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("fault", "kind", "status"), OLLAMA_FAULTS, ids=lambda v: str(v))
async def test_both_down_the_mock_answers(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    fault: Behaviour,
    kind: str,
    status: int | None,
    mode: str,
) -> None:
    """Quota then an Ollama fault: the mock answers; circuits and checkpoint recorded."""
    openai_emu.script(quota())
    ollama_emu.script(fault)
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": f"both-{mode}"}}
    state = await run(make_graph(timeout=0.5, checkpointer=saver), mode, USER, config)
    assert [(a["provider"], a["error"], a["status_code"]) for a in state["attempts"]] == [
        ("openai", "insufficient_quota", 429),
        ("ollama", kind, status),
        ("mock", None, None),
    ]
    assert state["served_by"] == "mock" and state["degraded"] is True
    assert state["messages"][-1].content.startswith("[FALLBACK]")
    ollama = PROCESS_STORE.get(circuit_key("ollama", ollama_emu.base_url, "qwen2.5:0.5b", None))
    assert ollama is not None
    assert ollama == {"failures": 1, "open_until": None, "reason": kind, "since": ollama["since"]}
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    primary = PROCESS_STORE.get(key)
    assert primary is not None and primary["reason"] == "insufficient_quota"
    saved = saver.get_tuple(config)
    assert saved is not None
    values = saved.checkpoint["channel_values"]
    assert values["attempts"] == state["attempts"]
    assert values["sticky"]["skip"] == {
        "openai": {"until": primary["open_until"], "reason": "insufficient_quota", "key": key}
    }


@pytest.mark.parametrize("mode", MODES)
async def test_empty_answer_fails_over(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """A 200 with no text and no tool calls is useless: server_error, failed over."""
    openai_emu.script(empty())
    state = await run(make_graph(), mode, USER)
    assert [(a["provider"], a["error"]) for a in state["attempts"]] == [
        ("openai", "server_error"),
        ("ollama", None),
    ]
    assert state["attempts"][0]["detail"] in (
        "empty answer: no text and no tool calls",  # invoke: a 200 with empty content
        "ValueError: No generations found in stream.",  # streamed: no chunk at all
        "ValueError: No generation chunks were returned",  # the node's own stream, likewise
    )


@pytest.mark.parametrize("mode", MODES)
async def test_connection_refused_everywhere(make_graph: MakeGraph, mode: str) -> None:
    """Nothing listening on either port: both recorded as connection errors, mock answers."""
    graph = make_graph(openai_base_url=dead_url("/v1"), ollama_base_url=dead_url())
    state = await run(graph, mode, USER)
    assert [(a["provider"], a["error"]) for a in state["attempts"]] == [
        ("openai", "connection"),
        ("ollama", "connection"),
        ("mock", None),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_missing_api_key_is_not_configured(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """No API key: the primary is skipped without a request and recorded not_configured."""
    state = await run(make_graph(openai_api_key=None), mode, USER)
    first = state["attempts"][0]
    assert (first["provider"], first["error"]) == ("openai", "not_configured")
    assert "OPENAI_API_KEY" in (first["detail"] or "")
    assert state["served_by"] == "ollama"
    assert openai_emu.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_bad_request_is_raised_not_failed_over(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, mode: str
) -> None:
    """A 400 goes back to the caller as the SDK's error; no fallback is asked."""
    openai_emu.script(bad_request("Invalid 'messages[0].content': string too long."))
    graph = make_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-400"}}
    with pytest.raises(openai.BadRequestError, match="string too long"):
        await run(graph, mode, USER, config)
    assert ollama_emu.requests == []
    kept = graph.get_state(config).values["messages"]
    assert [m.content for m in kept] == ["Konnichiwa! My name is Aiko."]


@pytest.mark.parametrize("mode", MODES)
async def test_all_down_raises_and_keeps_the_message(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, mode: str
) -> None:
    """A chain without the mock, all down: AllProvidersFailed with attempts; nothing lost."""
    openai_emu.always(quota())
    ollama_emu.always(busy())
    clock = FakeClock()
    graph = make_graph(checkpointer=InMemorySaver(), fallback_provider="ollama", clock=clock.clock)
    config = {"configurable": {"thread_id": "t-down"}}
    with pytest.raises(AllProvidersFailed) as caught:
        await run(graph, mode, USER, config)
    assert [(a["provider"], a["error"]) for a in caught.value.attempts] == [
        ("openai", "insufficient_quota"),
        ("ollama", "server_error"),
    ]
    assert "openai(gpt-4o-mini): insufficient_quota [429]" in str(caught.value)
    assert [m.content for m in graph.get_state(config).values["messages"]] == [
        "Konnichiwa! My name is Aiko."
    ]
    # the provider recovers after its quota cooldown: the next turn is answered by it
    # and both user messages are kept
    openai_emu.always(ok())
    clock.advance(301)
    state = await run(graph, mode, {"messages": [("user", "Still there?")]}, config)
    assert state["served_by"] == "openai"
    assert [m.content for m in state["messages"][:2]] == [
        "Konnichiwa! My name is Aiko.",
        "Still there?",
    ]
