"""Regression tests for what the reviews of the drop-in model and the nodes found."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import ollama
import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel

from llm_failover import MockChatModel, create_chat_model
from llm_failover.checkpoint import open_sqlite
from llm_failover.graph.context import context_of
from llm_failover.nodes.fit import fit
from llm_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    cut,
    ok,
    quota,
)
from tests.conftest import MakeGraph

NO_TOOLS = bad_request('"qwen2.5:0.5b" does not support tools')


class Verdict(BaseModel):
    """Grade the learner's sentence."""

    correct: bool


pytestmark = pytest.mark.usefixtures("app_env")


def test_tools_are_dropped_once_only(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A server that still refuses without tools: an ordinary 400, raised; no loop."""
    openai_emu.script(quota())
    ollama_emu.script(NO_TOOLS, NO_TOOLS, NO_TOOLS)
    with pytest.raises(ollama.ResponseError):
        create_chat_model(tools=[Verdict]).invoke("grade")
    assert len(ollama_emu.requests) == 2


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_structured_output_survives_a_text_answer(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, mode: str
) -> None:
    """Ollama answers text to a forced tool: not accepted; the mock's valid instance is."""
    openai_emu.script(quota())
    ollama_emu.script(ok("I think it is correct."))
    structured = create_chat_model().with_structured_output(Verdict)
    result = structured.invoke("grade") if mode == "invoke" else await structured.ainvoke("x")
    assert isinstance(result, Verdict)


async def test_astream_inside_an_app_graph_counts_each_token_once(
    openai_emu: OpenAIEmulator,
) -> None:
    """The drop-in's astream in the app's graph: one event per token, one failover event."""
    openai_emu.script(cut(after=2))
    model = create_chat_model()

    async def tutor(state: MessagesState) -> dict[str, Any]:
        text = "".join([str(c.content) async for c in model.astream(state["messages"])])
        return {"messages": [("ai", text)]}

    app = StateGraph(MessagesState)
    app.add_node("tutor", tutor)
    app.add_edge(START, "tutor")
    app.add_edge("tutor", END)
    names: list[str] = []
    async for event in app.compile().astream_events({"messages": [("user", "hi")]}, version="v2"):
        if event["event"] == "on_chat_model_stream" or event["event"] == "on_custom_event":
            names.append(event["name"])
    assert names.count("failover") == 1
    assert set(names) == {"FailoverChatModel", "failover"}


def test_summed_stream_has_each_tool_call_once(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A primary cut after a tool call: the summed stream holds the backup's calls only."""
    call = {"name": "Verdict", "args": {"correct": True}, "id": "c1"}
    openai_emu.script(cut(after=1))
    ollama_emu.script(ok(tool_calls=[call]))
    chunks = list(create_chat_model().bind_tools([Verdict]).stream("grade"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [("Verdict", {"correct": True})]
    assert total.response_metadata["failover"]["served_by"] == "ollama"


def test_batch_on_a_thread_keeps_every_turn(tmp_path: Path) -> None:
    """batch() with a thread runs its calls one after another: nothing overwritten."""
    saver = open_sqlite(tmp_path / "b.sqlite")
    model = create_chat_model(thread_id="batch", checkpointer=saver)
    answers = model.batch(["first", "second", "third"])
    assert [str(a.content).rsplit(" ", 1)[-1] for a in answers] == ["first", "second", "third"]
    stored = saver.get_tuple({"configurable": {"thread_id": "batch"}})
    assert stored is not None
    assert len(stored.checkpoint["channel_values"]["messages"]) == 6


def test_factory_does_not_share_graphs_built_from_objects() -> None:
    """Two scripted mocks are two graphs; plain settings still share one."""
    one = create_chat_model(provider="mock", models={"mock": MockChatModel(replies=["A"])})
    two = create_chat_model(provider="mock", models={"mock": MockChatModel(replies=["B"])})
    assert (one.invoke("x").content, two.invoke("x").content) == ("A", "B")
    assert create_chat_model(timeout=3).graph is create_chat_model(timeout=3).graph


def test_fit_keeps_the_question_with_its_tool_result() -> None:
    """A huge tool result: the question and the result go together, never the result alone."""
    messages = [
        SystemMessage("tutor"),
        HumanMessage("old " * 50),
        HumanMessage("look it up"),
        ToolMessage("result " * 2000, tool_call_id="c1"),
    ]
    kept, trimmed = fit(messages, 600)
    assert [m.type for m in kept] == ["system", "human", "tool"]
    assert kept[1].content == "look it up"
    assert trimmed is not None and trimmed["dropped"] == 1


def test_server_context_with_extra_keys_is_accepted() -> None:
    """A LangGraph server may add keys of its own to the run's context: ignored."""
    assert context_of({"temperature": 0.2, "assistant_id": "x"}).temperature == 0.2


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
