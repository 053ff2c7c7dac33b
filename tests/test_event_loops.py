"""Async callers on many event loops: `asyncio.run` per request, as some sync apps do.

Sync tests on purpose: pytest-asyncio runs async tests on one session loop, and each
`asyncio.run` here must open (and close) an event loop of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage

from langgraph_failover import create_chat_model
from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.providers.transport import LoopTransport, env_proxy
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, server_error
from tests.conftest import MakeGraph


def _turns(graph: FailoverGraph, count: int) -> list[dict[str, Any]]:
    """`count` turns, each in a fresh `asyncio.run`."""
    return [
        asyncio.run(graph.ainvoke({"messages": [HumanMessage(f"turn {n}")]})) for n in range(count)
    ]


def test_openai_answers_from_three_event_loops(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """Three `asyncio.run(graph.ainvoke(...))`: OpenAI answers each, none fails over."""
    outs = _turns(make_graph(), 3)
    assert [out["served_by"] for out in outs] == ["openai"] * 3
    assert [out["messages"][-1].content for out in outs] == [
        f"[openai gpt-4o-mini] reply to: turn {n}" for n in range(3)
    ]
    assert len(openai_emu.requests) == 3


def test_ollama_answers_from_three_event_loops(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """OpenAI answers 500 in three loops in turn: each is a real failover Ollama answers."""
    openai_emu.script(server_error(), server_error(), server_error())
    outs = _turns(make_graph(failure_threshold=10), 3)
    assert [out["served_by"] for out in outs] == ["ollama"] * 3
    assert [out["messages"][-1].content for out in outs] == [
        f"[ollama qwen2.5:0.5b] reply to: turn {n}" for n in range(3)
    ]
    # OpenAI was really asked each time, and failed with its 500, not with a dead loop.
    assert [[a["error"] for a in out["attempts"]] for out in outs] == [["server_error", None]] * 3
    assert (len(openai_emu.requests), len(ollama_emu.requests)) == (3, 3)


@pytest.mark.usefixtures("app_env")
def test_drop_in_ainvoke_from_two_event_loops(openai_emu: OpenAIEmulator) -> None:
    """The drop-in model's `ainvoke` under `asyncio.run`, twice: OpenAI answers both."""
    model = create_chat_model(temperature=0)
    answers = [asyncio.run(model.ainvoke(f"call {n}")) for n in range(2)]
    assert [a.response_metadata["failover"]["served_by"] for a in answers] == ["openai"] * 2
    assert [a.content for a in answers] == [
        f"[openai gpt-4o-mini] reply to: call {n}" for n in range(2)
    ]


def test_each_loop_gets_a_pool_and_gives_it_back(ollama_emu: OllamaEmulator) -> None:
    """A pool per loop, closed at `asyncio.run`'s shutdown; a bare closed loop's is dropped."""
    transport = LoopTransport(httpx.AsyncHTTPTransport)
    client = httpx.AsyncClient(transport=transport)

    async def ping() -> tuple[str, int]:
        return (await client.get(ollama_emu.base_url)).text, transport.loops()

    assert [asyncio.run(ping()) for _ in range(3)] == [("Ollama is running", 1)] * 3
    assert transport.loops() == 0  # each loop's pool was closed as its loop shut down
    bare = asyncio.new_event_loop()  # closed without shutting down its async generators
    assert bare.run_until_complete(ping()) == ("Ollama is running", 1)
    bare.close()
    assert transport.loops() == 1
    assert asyncio.run(ping()) == ("Ollama is running", 1)  # the bare loop's pool dropped
    assert transport.loops() == 0


def test_env_proxy_is_kept_for_our_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy the environment names still applies, and `NO_PROXY` still bypasses it."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert env_proxy("https://api.openai.com/v1") == "http://proxy.internal:3128"
    assert env_proxy("http://127.0.0.1:11434") is None
    assert env_proxy("http://other:11434") is None  # no HTTP_PROXY set
