"""How an emulator's answer takes the shape its request asks for, as a real provider's does.

A forced tool choice gets a tool call whose arguments are valid for that tool's schema; a
JSON-schema response format gets JSON valid for the schema; generation ends before the
first stop sequence. Only the default answer is shaped: scripted text and tool calls are
played back as scripted (cut at a stop sequence, as generated text would be).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from langgraph_failover.providers.mock_schema import example, forced_call, json_text
from langgraph_failover.testing.behaviours import Behaviour

ANSWERING = frozenset({"ok", "cut", "malformed", "unterminated"})
"""The behaviours that start an answer (whole or not) rather than answer an error."""


@dataclasses.dataclass(frozen=True, slots=True)
class Wanted:
    """What a request demands of its answer."""

    call: dict[str, Any] | None = None
    """The tool call a forced tool choice demands (`{"name", "args"}`)."""
    json: str | None = None
    """JSON text the requested response format accepts."""
    stop: tuple[str, ...] = ()
    """Stop sequences: the answer ends before the first of them."""


def openai_wanted(body: dict[str, Any]) -> Wanted:
    """Read `tools`/`tool_choice`, `response_format` and `stop` from a chat-completions body."""
    stop = body.get("stop")
    return Wanted(
        call=forced_call(body.get("tools") or [], body.get("tool_choice")),
        json=json_text(body.get("response_format")),
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
    )


def ollama_wanted(body: dict[str, Any]) -> Wanted:
    """Read `tools`, `format` and `options.stop` from an `/api/chat` body.

    Ollama's API has no tool choice: offering tools is how a client asks for a call, so
    offered tools are called, except in answer to a tool's result (the model now replies
    to it in text). A `format` is `"json"` or a JSON schema.
    """
    messages = body.get("messages") or []
    answering_a_tool = bool(messages) and messages[-1].get("role") == "tool"
    form = body.get("format")
    if isinstance(form, dict):
        text: str | None = json.dumps(example(form), ensure_ascii=False)
    else:
        text = "{}" if form == "json" else None
    return Wanted(
        call=None if answering_a_tool else forced_call(body.get("tools") or [], "required"),
        json=text,
        stop=tuple((body.get("options") or {}).get("stop") or ()),
    )


def shaped(behaviour: Behaviour, wanted: Wanted, echo: str) -> Behaviour:
    """`behaviour` with its answer made concrete: scripted, shaped by `wanted`, or `echo`."""
    if behaviour.kind not in ANSWERING:
        return behaviour
    text, calls = behaviour.text, behaviour.tool_calls
    if text is None and not calls:
        if wanted.call is not None:
            text, calls = "", (wanted.call,)
        else:
            text = wanted.json if wanted.json is not None else echo
    if text is not None:
        text = before_stop(text, wanted.stop)
    return dataclasses.replace(behaviour, text=text, tool_calls=calls)


def before_stop(text: str, stop: tuple[str, ...]) -> str:
    """`text` up to (not including) the earliest stop sequence in it."""
    ends = [text.find(s) for s in stop if s and s in text]
    return text[: min(ends)] if ends else text
