"""The emulators answer in the shape a request demands, as a real provider does.

Forced tool choices, JSON schemas and stop sequences, through the real `langchain_openai`
and `langchain_ollama` clients; an unforced request still gets the plain echo.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok
from langgraph_failover.testing.shaping import before_stop
from tests.conftest import FAKE_KEY


class Booking(BaseModel):
    """Book a table."""

    name: str = Field(min_length=12)
    seats: int = Field(ge=2)
    terrace: bool


class Lookup(BaseModel):
    """Look a word up."""

    word: str


class Table(BaseModel):
    """Book a table (no constraints: Ollama's client sends only names and types)."""

    name: str
    seats: int
    terrace: bool


def openai(emu: OpenAIEmulator, **kwargs: Any) -> ChatOpenAI:
    """The real client, as the graph builds it."""
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=emu.base_url,
        api_key=FAKE_KEY,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        max_retries=0,
        **kwargs,
    )


def ollama(emu: OllamaEmulator) -> ChatOllama:
    """The real client, as the graph builds it."""
    return ChatOllama(model="qwen2.5:0.5b", base_url=emu.base_url)


@pytest.mark.parametrize(
    ("choice", "name"), [("any", "Booking"), ("Lookup", "Lookup"), ("required", "Booking")]
)
def test_openai_forced_tool_choice_gets_a_schema_valid_call(
    openai_emu: OpenAIEmulator, choice: str, name: str
) -> None:
    """A forced choice is answered by the chosen tool, its arguments valid for the schema."""
    answer = openai(openai_emu).bind_tools([Booking, Lookup], tool_choice=choice).invoke("hi")
    (call,) = answer.tool_calls
    assert call["name"] == name
    model = Booking if name == "Booking" else Lookup
    model.model_validate(call["args"])


@pytest.mark.parametrize("choice", [None, "auto", "none"])
def test_openai_unforced_tools_get_text(openai_emu: OpenAIEmulator, choice: str | None) -> None:
    """Without a forced choice the emulator cannot know a tool is needed: it echoes."""
    answer = openai(openai_emu).bind_tools([Booking], tool_choice=choice).invoke("hi")
    assert (answer.tool_calls, answer.content) == ([], "[openai gpt-4o-mini] reply to: hi")


def test_openai_scripted_answers_win_over_the_shape(openai_emu: OpenAIEmulator) -> None:
    """A scripted tool call is played back as scripted, even under a forced choice."""
    openai_emu.script(ok(tool_calls=[{"name": "Lookup", "args": {"word": "neko"}}]))
    answer = openai(openai_emu).bind_tools([Booking, Lookup], tool_choice="any").invoke("x")
    assert answer.tool_calls[0]["args"] == {"word": "neko"}


def test_openai_json_schema_response_format(openai_emu: OpenAIEmulator) -> None:
    """`response_format` json_schema gets JSON valid for the schema."""
    structured = openai(openai_emu).with_structured_output(Booking, method="json_schema")
    assert isinstance(structured.invoke("book"), Booking)


def test_openai_json_mode_gets_an_object(openai_emu: OpenAIEmulator) -> None:
    """JSON mode names no keys: the answer is a JSON object, the empty one."""
    answer = openai(openai_emu).bind(response_format={"type": "json_object"}).invoke("x")
    assert json.loads(str(answer.content)) == {}


@pytest.mark.parametrize("usage", [False, True])
def test_openai_usage_in_streams_only_when_asked(openai_emu: OpenAIEmulator, usage: bool) -> None:
    """`stream_options.include_usage` asks for the usage chunk; without it none comes."""
    chunks = list(openai(openai_emu, stream_usage=usage).stream("hello there"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert (total.usage_metadata is not None) is usage
    assert ("stream_options" in openai_emu.requests[-1].body) is usage


@pytest.mark.parametrize("stream", [False, True])
def test_openai_stop_sequences(openai_emu: OpenAIEmulator, stream: bool) -> None:
    """The answer ends before the first stop sequence, echoed or scripted."""
    llm = openai(openai_emu)
    if stream:
        text = "".join(str(c.content) for c in llm.stream("hello there", stop=["reply"]))
    else:
        text = str(llm.invoke("hello there", stop=["reply"]).content)
    assert text == "[openai gpt-4o-mini] "
    openai_emu.script(ok("one. two. three."))
    assert llm.invoke("x", stop=["three", " two"]).content == "one."


def test_ollama_offered_tools_are_called_except_after_a_result(
    ollama_emu: OllamaEmulator,
) -> None:
    """Ollama has no tool_choice: offered tools are called, a tool's result is answered."""
    llm = ollama(ollama_emu).bind_tools([Table])
    (call,) = llm.invoke("book").tool_calls
    Table.model_validate(call["args"])
    history = [HumanMessage("book"), AIMessage("", tool_calls=[{**call, "id": "c1"}])]
    answer = llm.invoke([*history, ToolMessage("booked", tool_call_id="c1")])
    assert answer.tool_calls == [] and answer.content


def test_ollama_format(ollama_emu: OllamaEmulator) -> None:
    """`format` as a JSON schema gets a valid instance; `format="json"` an object."""
    llm = ollama(ollama_emu)
    assert isinstance(
        llm.with_structured_output(Booking, method="json_schema").invoke("x"), Booking
    )
    assert json.loads(str(llm.bind(format="json").invoke("x").content)) == {}


def test_ollama_stop_sequences(ollama_emu: OllamaEmulator) -> None:
    """`options.stop` ends the answer before the first stop sequence."""
    assert ollama(ollama_emu).invoke("hello there", stop=["reply"]).content == (
        "[ollama qwen2.5:0.5b] "
    )
    assert ollama_emu.requests[-1].body["options"]["stop"] == ["reply"]


@pytest.mark.parametrize(
    ("text", "stop", "cut"),
    [
        ("abc", (), "abc"),
        ("abc", ("",), "abc"),
        ("a-b-c", ("-c", "-"), "a"),
        ("abc", ("x",), "abc"),
    ],
)
def test_before_stop(text: str, stop: tuple[str, ...], cut: str) -> None:
    """The earliest stop sequence wins; an empty one stops nothing."""
    assert before_stop(text, stop) == cut
