"""Per-call options through the graph: tools, tool choice, temperature and stop."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from langgraph_failover.graph.context import Context
from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    ok,
    quota,
)
from tests.conftest import MakeGraph


class Lookup(BaseModel):
    """Look a word up in the dictionary."""

    word: str


TOOLS = [convert_to_openai_tool(Lookup)]
CALL = {"name": "Lookup", "args": {"word": "neko"}, "id": "call_1", "type": "tool_call"}
USER = {"messages": [("user", "What does neko mean?")]}


def test_tools_reach_the_primary_and_tool_calls_come_back(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """OpenAI gets the tools and the forced choice; its tool call comes back unchanged."""
    openai_emu.script(ok(tool_calls=[CALL]))
    context = Context(tools=TOOLS, tool_choice="any", temperature=0.3, stop=["\n\n"])
    state = make_graph().invoke(USER, context=context)
    assert state["messages"][-1].tool_calls == [CALL]
    body = openai_emu.requests[0].body
    assert [t["function"]["name"] for t in body["tools"]] == ["Lookup"]
    assert body["tool_choice"] == "required"
    assert (body["temperature"], body["stop"]) == (0.3, ["\n\n"])


async def test_tools_reach_the_fallback(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """After a failover Ollama gets the same tools, and the temperature in its options."""
    openai_emu.script(quota())
    ollama_emu.script(ok(tool_calls=[CALL]))
    context = Context(tools=TOOLS, tool_choice="Lookup", temperature=0.7)
    state = await make_graph().ainvoke(USER, context=context)
    (call,) = state["messages"][-1].tool_calls
    assert (call["name"], call["args"]) == ("Lookup", {"word": "neko"})
    body = ollama_emu.requests[0].body
    assert [t["function"]["name"] for t in body["tools"]] == ["Lookup"]
    assert body["options"]["temperature"] == 0.7
    assert state["attempts"][-1]["tools_dropped"] is False


def test_stop_reaches_ollama_with_a_temperature(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A temperature replaces ChatOllama's options; the stop sequences must stay in them."""
    openai_emu.script(quota())
    context = Context(temperature=0.2, stop=["neko"])
    state = make_graph().invoke(USER, context=context)
    assert ollama_emu.requests[0].body["options"]["stop"] == ["neko"]
    assert state["messages"][-1].content == "[ollama qwen2.5:0.5b] reply to: What does "


@pytest.mark.parametrize("tier", ["openai", "ollama", "mock"])
def test_a_json_schema_reaches_every_provider(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tier: str
) -> None:
    """`response_format` goes to OpenAI as is, to Ollama as `format`; all answer valid JSON."""
    if tier != "openai":
        openai_emu.script(quota())
    if tier == "mock":
        ollama_emu.script(busy())
    schema = Lookup.model_json_schema()
    form = {"type": "json_schema", "json_schema": {"name": "Lookup", "schema": schema}}
    state = make_graph().invoke(USER, context=Context(response_format=form))
    assert state["served_by"] == tier
    Lookup.model_validate_json(str(state["messages"][-1].content))
    assert openai_emu.requests[0].body["response_format"]["type"] == "json_schema"
    if tier != "openai":
        assert ollama_emu.requests[0].body["format"] == schema


def test_model_without_tool_support_is_asked_again_without_tools(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Ollama's "does not support tools" 400: one more request, no tools, recorded."""
    openai_emu.script(quota())
    ollama_emu.script(bad_request('"qwen2.5:0.5b" does not support tools'))
    state = make_graph().invoke(USER, context=Context(tools=TOOLS))
    assert [(a["node"], a["error"], a["tools_dropped"]) for a in state["attempts"]] == [
        ("openai", "insufficient_quota", False),
        ("ollama", None, True),
    ]
    first, second = ollama_emu.requests
    assert first.body["tools"] and not second.body.get("tools")
    assert state["served_by"] == "ollama"


def test_other_bad_requests_still_raise(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Only the tool-support 400 is retried; without tools it is an ordinary 400."""
    openai_emu.script(quota())
    ollama_emu.script(bad_request('"qwen2.5:0.5b" does not support tools'))
    with pytest.raises(ollama.ResponseError, match="does not support tools"):
        make_graph().invoke(USER)
    assert len(ollama_emu.requests) == 1


def test_the_mock_honours_a_forced_tool(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Last resort with a forced tool: a schema-valid tool call, not an apology."""
    openai_emu.script(quota())
    ollama_emu.script(busy())
    state: Any = make_graph().invoke(USER, context={"tools": TOOLS, "tool_choice": "any"})
    (call,) = state["messages"][-1].tool_calls
    assert call["name"] == "Lookup"
    Lookup.model_validate(call["args"])
    assert state["degraded"] is True
