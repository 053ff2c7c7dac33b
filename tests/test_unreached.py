"""A silent mock is a bug: one WARNING per unreachable provider per process, never a key.

Real turns through the real OpenAI and Ollama clients: the emulators, a provider with no
API key, and a loopback port nothing listens on (connection refused).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.nodes import unreached
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, busy, quota
from tests.conftest import FAKE_KEY, MakeGraph, dead_url

SAID_ONCE = "; the mock answered this turn instead (said once per provider)"


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger, recorded from DEBUG up (a key must be in none of them)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Our plain WARNING lines (the JSON ones are the failover and circuit records)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "langgraph_failover"
        and r.levelno == logging.WARNING
        and not r.getMessage().startswith("{")
    ]


async def turn(graph: FailoverGraph, how: str) -> Any:
    """One turn, as a sync, async or streaming caller; who served it."""
    payload = {"messages": [HumanMessage("hi")]}
    if how == "invoke":
        return graph.invoke(payload)["served_by"]
    if how == "ainvoke":
        return (await graph.ainvoke(payload))["served_by"]
    return list(graph.stream(payload, stream_mode="values"))[-1]["served_by"]


async def test_no_api_key_is_said_once_when_the_mock_answers(
    make_graph: MakeGraph, ollama_emu: OllamaEmulator, logged: pytest.LogCaptureFixture
) -> None:
    """No OpenAI key: silent while Ollama answers; one WARNING once the mock does, not more."""
    # Its URL names this test's openai (the key is what is missing; it is never called).
    graph = make_graph(openai_api_key=None, openai_base_url=dead_url("/v1"))
    assert await turn(graph, "invoke") == "ollama"
    assert said(logged) == []
    ollama_emu.always(busy())  # a 503 is an outage, not a setup problem: not named
    for how in ["invoke", "ainvoke", "stream", "invoke"]:
        assert await turn(graph, how) == "mock"
    assert said(logged) == ["OPENAI_API_KEY is not set" + SAID_ONCE]


async def test_a_refused_connection_is_said_once_with_the_url_masked(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, logged: pytest.LogCaptureFixture
) -> None:
    """Ollama's port closed: its URL (credentials masked) and `connection refused`, once."""
    port_url = dead_url()
    secret = "hunter2-url-password"
    ollama_url = port_url.replace("http://", f"http://admin:{secret}@")
    graph = make_graph(ollama_base_url=ollama_url)
    openai_emu.always(quota())
    for how in ["invoke", "ainvoke", "stream", "invoke", "ainvoke"]:
        assert await turn(graph, how) == "mock"
    masked = port_url.replace("http://", "http://***@")
    assert said(logged) == [f"ollama at {masked}: connection refused" + SAID_ONCE]
    # Another graph of this process, on the same upstream: already said.
    assert await turn(make_graph(ollama_base_url=ollama_url), "invoke") == "mock"
    assert len(said(logged)) == 1
    assert all(FAKE_KEY not in r.getMessage() and secret not in r.getMessage()
               for r in logged.records)  # fmt: skip


async def test_nothing_configured_names_both_on_the_first_turn(
    make_graph: MakeGraph, logged: pytest.LogCaptureFixture
) -> None:
    """A fresh machine: no key and no Ollama; the first turn names both, in chain order."""
    ollama_url = dead_url()
    graph = make_graph(openai_api_key=None, openai_base_url=dead_url("/v1"),
                       ollama_base_url=ollama_url)  # fmt: skip
    assert await turn(graph, "ainvoke") == "mock"
    assert said(logged) == [
        "OPENAI_API_KEY is not set" + SAID_ONCE,
        f"ollama at {ollama_url}: connection refused" + SAID_ONCE,
    ]
    assert await turn(graph, "invoke") == "mock"
    assert len(said(logged)) == 2


async def test_other_failures_and_healthy_turns_say_nothing(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    logged: pytest.LogCaptureFixture,
) -> None:
    """Quota and a busy Ollama are outages the failover lines tell; healthy turns say none."""
    graph = make_graph()
    assert await turn(graph, "invoke") == "openai"
    openai_emu.always(quota())
    ollama_emu.always(busy())
    assert await turn(graph, "ainvoke") == "mock"
    assert said(logged) == []


async def test_the_set_of_warned_providers_is_bounded(
    make_graph: MakeGraph, monkeypatch: pytest.MonkeyPatch, logged: pytest.LogCaptureFixture
) -> None:
    """Past MAX_WARNED providers a process says no more (URLs may be many; memory is not)."""
    monkeypatch.setattr(unreached, "MAX_WARNED", len(unreached._warned))
    graph = make_graph(openai_api_key=None, openai_base_url=dead_url("/v1"),
                       ollama_base_url=dead_url())  # fmt: skip
    assert await turn(graph, "invoke") == "mock"
    assert said(logged) == []
