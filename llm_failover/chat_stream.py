"""How the drop-in model's stream is made from the failover graph's stream parts.

Token chunks carry text and usage only; a failover becomes an empty chunk flagged with
`response_metadata["failover_events"]`; the last chunk carries the answer's tool calls,
whole, and its failover facts, both read from the graph's final state.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables.config import var_child_runnable_config

STREAM_MODES = ["messages", "custom", "values"]


def stream_chunk(mode: str, payload: Any) -> ChatGenerationChunk | None:
    """Our stream's chunk for one graph stream part (None: nothing to yield)."""
    if mode == "messages":
        message, _ = payload
        if not isinstance(message, AIMessageChunk):
            return None
        # Text and usage only. Tool calls come whole with the final chunk: a primary cut
        # after one tool call must not leave it in the sum for the app to run twice. The
        # providers' metadata (model names differ) would be glued together when summed.
        return ChatGenerationChunk(
            message=AIMessageChunk(content=message.content, usage_metadata=message.usage_metadata)
        )
    if mode == "custom":
        event = AIMessageChunk(content="", response_metadata={"failover_events": [payload]})
        return ChatGenerationChunk(message=event)
    return None


def final_chunk(state: Any) -> ChatGenerationChunk | None:
    """The last chunk: the answer's tool calls and failover facts, from the final state."""
    answer = state["messages"][-1] if state and state.get("messages") else None
    if not isinstance(answer, AIMessage) or "failover" not in answer.response_metadata:
        return None
    calls = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
        for i, c in enumerate(answer.tool_calls)
    ]
    facts = {"failover": answer.response_metadata["failover"]}
    return ChatGenerationChunk(
        message=AIMessageChunk(content="", tool_call_chunks=calls, response_metadata=facts)
    )


def has_parent() -> bool:
    """Whether a calling runnable exists to attach a custom event to."""
    config = var_child_runnable_config.get()
    return bool(config and config.get("callbacks"))
