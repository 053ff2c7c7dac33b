"""Ollama cutting a prompt to its window, unannounced: recorded, and said once per model."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_ollama import ChatOllama

from langgraph_failover.testing import OllamaEmulator, ok
from tests.conftest import MakeGraph

LONG = "word " * 300  # ~375 tokens by the estimate, 300 by the emulator's count


async def ask(graph: Any, text: str, mode: str, thread: str) -> Any:
    """One turn on `thread` by a sync, async or streaming caller; the final state."""
    inputs: Any = {"messages": [HumanMessage(text)]}
    config: Any = {"configurable": {"thread_id": thread}}
    if mode == "invoke":
        return graph.invoke(inputs, config)
    if mode == "ainvoke":
        return await graph.ainvoke(inputs, config)
    return list(graph.stream(inputs, config, stream_mode="values"))[-1]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream"])
async def test_a_cut_prompt_is_recorded_and_warned_about_once(
    mode: str, make_graph: MakeGraph, ollama_emu: OllamaEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """prompt_eval_count far under what was sent: `truncated` on each turn, one WARNING."""
    model = f"small-window-{mode}"
    graph = make_graph(provider="ollama", model=model)
    ollama_emu.always(ok(num_ctx=100))
    with caplog.at_level(logging.WARNING, logger="langgraph_failover"):
        states = [await ask(graph, LONG, mode, f"{mode}-{i}") for i in range(3)]
    for state in states:
        cut = state["attempts"][-1]["truncated"]
        assert cut is not None and cut["evaluated"] == 100
        assert cut["sent_tokens"] > 300
    warned = [r for r in caplog.records if "cut the prompt" in r.getMessage()]
    assert len(warned) == 1
    assert (
        model in warned[0].getMessage() and "LLM_FAILOVER_CONTEXT_TOKENS" in warned[0].getMessage()
    )


@pytest.mark.parametrize(("text", "window"), [(LONG, None), (LONG, 10_000), ("hi", 1)])
def test_no_cut_is_reported_without_one(
    text: str, window: int | None, make_graph: MakeGraph, ollama_emu: OllamaEmulator
) -> None:
    """A prompt within the window, or too short to judge, records no truncation."""
    graph = make_graph(provider="ollama", model="roomy")
    ollama_emu.always(ok(num_ctx=window))
    state = graph.invoke({"messages": [HumanMessage(text)]})
    assert state["attempts"][-1]["ok"]
    assert state["attempts"][-1]["truncated"] is None


def test_the_emulator_reports_what_it_kept(ollama_emu: OllamaEmulator) -> None:
    """The truncating emulator's prompt_eval_count is its window; without one, the whole."""
    chat = ChatOllama(base_url=ollama_emu.base_url, model="m")
    ollama_emu.script(ok(num_ctx=50), ok())
    assert chat.invoke(LONG).response_metadata["prompt_eval_count"] == 50
    assert chat.invoke(LONG).response_metadata["prompt_eval_count"] == 304  # 300 + template
