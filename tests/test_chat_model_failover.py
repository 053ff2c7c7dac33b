"""The drop-in model when a provider fails mid-call: tools, structured output, streams."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel

from langgraph_failover import create_chat_model
from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    cut,
    ok,
    quota,
)

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
