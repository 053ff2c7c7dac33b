"""The mock: deterministic, scriptable, never fails, keeps tool and schema contracts."""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from langgraph_failover import MockChatModel
from langgraph_failover.providers.mock import DEGRADED_TEXT
from langgraph_failover.providers.mock_schema import example


class Verdict(BaseModel):
    """A grading of the user's answer."""

    correct: bool
    score: int = Field(ge=1, le=10)
    level: Literal["N5", "N4"]
    notes: list[str] = Field(min_length=1)
    hint: str | None


def test_degraded_text_and_stable_ids() -> None:
    """Without a script it says it is degraded; the same conversation gets the same id."""
    mock = MockChatModel()
    first = mock.invoke([HumanMessage("hi", id="1")])
    again = mock.invoke([HumanMessage("hi", id="1")])
    other = mock.invoke([HumanMessage("hi", id="2")])
    assert first.content == DEGRADED_TEXT
    assert first.id == again.id
    assert first.id != other.id


def test_script_then_default() -> None:
    """Scripted replies come in order, tool calls included, then the default text."""
    call = {"name": "lookup", "args": {"word": "neko"}, "id": "c1", "type": "tool_call"}
    mock = MockChatModel(replies=["one", AIMessage("", tool_calls=[call])])
    assert mock.invoke("x").content == "one"
    assert mock.invoke("x").tool_calls == [call]
    assert mock.invoke("x").content == DEGRADED_TEXT


async def test_async_and_stream_agree() -> None:
    """ainvoke, stream and astream give the same text as invoke."""
    mock = MockChatModel(replies=["a b c"] * 4)
    assert (await mock.ainvoke("x")).content == "a b c"
    chunks = list(mock.stream("x"))
    assert len(chunks) == 3
    assert "".join(str(c.content) for c in chunks) == "a b c"
    assert "".join([str(c.content) async for c in mock.astream("x")]) == "a b c"


def test_bind_tools_without_choice_answers_text() -> None:
    """Tools bound but not forced: the mock answers in text, making no tool calls."""
    answer = MockChatModel().bind_tools([Verdict]).invoke("x")
    assert answer.content == DEGRADED_TEXT
    assert answer.tool_calls == []


def test_forced_tool_call_has_schema_valid_arguments() -> None:
    """A forced tool choice gets a tool call whose arguments validate against the tool."""
    answer = MockChatModel().bind_tools([Verdict], tool_choice="Verdict").invoke("x")
    (call,) = answer.tool_calls
    assert call["name"] == "Verdict"
    Verdict.model_validate(call["args"])


def test_structured_output_is_a_valid_instance() -> None:
    """with_structured_output returns a valid instance of the schema."""
    result = MockChatModel().with_structured_output(Verdict).invoke("grade me")
    assert isinstance(result, Verdict)
    assert result.level == "N5"
    assert 1 <= result.score <= 10


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "string", "minLength": 12}, "[FALLBACK].."),
        ({"type": "integer", "exclusiveMinimum": 3}, 4),
        ({"type": "number"}, 0.0),
        ({"type": ["null", "boolean"]}, False),
        ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, [0, 0]),
        ({"enum": ["b", "a"]}, "b"),
        ({"anyOf": [{"type": "null"}, {"const": 7}]}, 7),
        ({"$defs": {"X": {"type": "boolean", "default": True}}, "$ref": "#/$defs/X"}, True),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, {}),
    ],
)
def test_schema_examples(schema: dict[str, object], value: object) -> None:
    """The schema example generator covers the JSON-schema shapes tools use."""
    assert example(schema) == value


def test_usage_is_reported_once_invoked_or_streamed() -> None:
    """Usage like any provider's: on the answer, and on one chunk only of a stream."""
    mock = MockChatModel()
    usage = mock.invoke("how are you today?").usage_metadata
    assert usage is not None and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    chunks = list(mock.stream("how are you today?"))
    assert [c.usage_metadata for c in chunks if c.usage_metadata] == [usage]


def test_json_schema_response_format_gets_a_valid_instance() -> None:
    """Asked for JSON by schema (structured output's json_schema method): a valid one."""
    schema = Verdict.model_json_schema()
    response_format = {"type": "json_schema", "json_schema": {"name": "V", "schema": schema}}
    answer = MockChatModel().invoke("grade me", response_format=response_format)
    Verdict.model_validate_json(str(answer.content))
    json_mode = MockChatModel().invoke("x", response_format={"type": "json_object"})
    assert json_mode.content == "{}"


def test_traces_name_the_mock() -> None:
    """Its runs are traced as the mock, with a model name (not a class-derived guess)."""
    params = MockChatModel()._get_ls_params(stop=["\n"])
    assert (params["ls_provider"], params["ls_model_name"]) == ("mock", "mock")
    assert params["ls_stop"] == ["\n"]
