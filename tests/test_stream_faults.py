"""Malformed and unterminated streams: provider faults failed over like a cut, never kept.

The real clients against the emulators, for sync, async and streaming callers. A stream
that ends without its terminator but with a finish reason is a whole answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, malformed, unterminated
from tests.conftest import CALLERS, MakeGraph, failover, run_turn

QUESTION = "Tell me about particles"
OPENAI_TEXT = f"[openai gpt-4o-mini] reply to: {QUESTION}"
OLLAMA_TEXT = f"[ollama qwen2.5:0.5b] reply to: {QUESTION}"
MOCK_PREFIX = "[FALLBACK]"
UNFINISHED_OPENAI = "stream ended with neither [DONE] nor a finish reason"


def assert_clean_failover(
    state: dict[str, Any], parts: list[tuple[str, Any]], source: str, target: str
) -> None:
    """The event comes first and the source's tokens stop; only the backup's answer is saved."""
    messages = state["messages"]
    assert [m.type for m in messages] == ["human", "ai"]
    assert messages[1].response_metadata["failover"]["served_by"] == target
    if parts:
        event_at = parts.index(("event", failover(source, target, "server_error")))
        assert all(who != target for who, _ in parts[:event_at])
        assert all(who != source for who, _ in parts[event_at:])


@pytest.mark.parametrize("caller", CALLERS)
async def test_malformed_openai_chunk_fails_over(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, caller: str
) -> None:
    """Invalid JSON mid-stream (or a garbled body): server_error saying so; Ollama answers."""
    openai_emu.script(malformed(after=3))
    graph = make_graph(checkpointer=InMemorySaver())
    state, parts = await run_turn(graph, caller, QUESTION, f"malformed-{caller}")
    first, second = state["attempts"]
    assert (first["node"], first["error"], second["node"], second["error"]) == (
        "openai", "server_error", "ollama", None,
    )  # fmt: skip
    assert first["detail"].startswith("malformed data from the provider: JSONDecodeError")
    assert state["messages"][1].content == OLLAMA_TEXT
    assert_clean_failover(state, parts, "openai", "ollama")


@pytest.mark.parametrize("caller", CALLERS)
async def test_malformed_ollama_line_fails_over(
    make_graph: MakeGraph, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """An NDJSON line that is not JSON, from Ollama as primary: the mock answers."""
    ollama_emu.script(malformed(after=2))
    graph = make_graph(provider="ollama", checkpointer=InMemorySaver())
    state, parts = await run_turn(graph, caller, QUESTION, f"ollama-malformed-{caller}")
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [
        ("ollama", "server_error"),
        ("mock", None),
    ]
    assert "malformed data from the provider" in state["attempts"][0]["detail"]
    assert state["messages"][1].content.startswith(MOCK_PREFIX)
    assert_clean_failover(state, parts, "ollama", "mock")


@pytest.mark.parametrize("caller", CALLERS)
async def test_openai_stream_without_terminator_or_finish_fails_over(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, caller: str
) -> None:
    """No [DONE] and no finish reason: the streamed answer is cut short, not passed off."""
    openai_emu.script(unterminated())
    graph = make_graph(checkpointer=InMemorySaver())
    state, parts = await run_turn(graph, caller, QUESTION, f"unterminated-{caller}")
    if not openai_emu.requests[0].stream:
        # Not streamed, there is no stream to cut: the emulator answers whole.
        assert [(a["node"], a["error"]) for a in state["attempts"]] == [("openai", None)]
        return
    assert [(a["node"], a["error"], a["detail"]) for a in state["attempts"]] == [
        ("openai", "server_error", UNFINISHED_OPENAI),
        ("ollama", None, None),
    ]
    assert state["messages"][1].content == OLLAMA_TEXT
    assert_clean_failover(state, parts, "openai", "ollama")


@pytest.mark.parametrize("caller", CALLERS)
async def test_ollama_stream_without_done_fails_over(
    make_graph: MakeGraph, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """Ollama's stream closed before its "done" message (ChatOllama always streams)."""
    ollama_emu.script(unterminated())
    graph = make_graph(provider="ollama", checkpointer=InMemorySaver())
    state, parts = await run_turn(graph, caller, QUESTION, f"ollama-unterminated-{caller}")
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [
        ("ollama", "server_error"),
        ("mock", None),
    ]
    assert 'closing "done" message' in state["attempts"][0]["detail"]
    assert_clean_failover(state, parts, "ollama", "mock")


@pytest.mark.parametrize("caller", CALLERS)
async def test_stream_with_finish_reason_but_no_done_completes(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, caller: str
) -> None:
    """A finish reason and usage but no [DONE]: the primary's whole answer, with its usage."""
    openai_emu.script(unterminated(finish=True))
    graph = make_graph(checkpointer=InMemorySaver())
    state, parts = await run_turn(graph, caller, QUESTION, f"finished-{caller}")
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [("openai", None)]
    answer = state["messages"][1]
    assert answer.content == OPENAI_TEXT
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] > 0
    assert all(who != "event" for who, _ in parts)


class _AppBug(BaseChatModel):
    """An app's own model whose code fails to parse its own JSON."""

    @property
    def _llm_type(self) -> str:
        return "app-bug"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        json.loads("{not json")  # the app's bug, not a provider's bytes
        raise AssertionError("unreachable")


@pytest.mark.parametrize("caller", ["invoke", "ainvoke"])
async def test_an_apps_own_json_error_is_raised_not_failed_over(
    make_graph: MakeGraph, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """Default-deny holds: a JSONDecodeError from the app's code reaches the caller."""
    graph = make_graph(models={"openai": _AppBug()})
    payload = {"messages": [("user", QUESTION)]}

    async def ask() -> Any:
        return graph.invoke(payload) if caller == "invoke" else await graph.ainvoke(payload)

    with pytest.raises(json.JSONDecodeError):
        await ask()
    assert ollama_emu.requests == []
