"""How the drop-in model's stream is made from the failover graph's stream parts.

The graph runs in a `contextvars.Context` of its own, so the caller's callbacks (an app's
`astream_events`) see the drop-in's chunks only, not the providers' tokens as well. Token
chunks carry text only; a failover becomes an empty chunk flagged with
`response_metadata["failover_events"]`; the last chunk carries the answer's tool calls,
whole, its usage and its failover facts, all read from the graph's final state.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables.config import var_child_runnable_config

# langchain-core's name for "who really answered" in a generation's info: its tracers
# make it the run's ls_provider/ls_model_name when the run ends, as for a gateway. No
# public API renames a run; the key is spelled here rather than imported from its
# private module, so a change there costs the trace's name, not `import langgraph_failover`
# (tests/test_chat_model_runs.py::test_trace_names_who_answered notices it).
GATEWAY_METADATA_RESPONSE_KEY = "lc_gateway_metadata"

STREAM_MODES = ["messages", "custom", "values"]


def relay(
    graph: Any, inputs: Any, config: Any, context: Any, final: dict[str, Any]
) -> Iterator[ChatGenerationChunk]:
    """The graph's stream as the drop-in's chunks; `final` receives the graph's last state."""
    announce = has_parent()
    isolated = contextvars.Context()
    parts = isolated.run(graph.stream, inputs, config, context=context, stream_mode=STREAM_MODES)
    while (part := isolated.run(next, parts, None)) is not None:
        event, chunk = _take(part, final)
        if event is not None and announce:
            dispatch_custom_event("failover", event)
        if chunk:
            yield chunk
    if last := final_chunk(final):
        yield last


async def arelay(
    graph: Any, inputs: Any, config: Any, context: Any, final: dict[str, Any]
) -> AsyncIterator[ChatGenerationChunk]:
    """The async twin of `relay`."""
    announce = has_parent()
    isolated = contextvars.Context()
    parts = isolated.run(graph.astream, inputs, config, context=context, stream_mode=STREAM_MODES)
    loop = asyncio.get_running_loop()
    while True:
        try:
            part = await loop.create_task(anext(parts), context=isolated)
        except StopAsyncIteration:
            break
        event, chunk = _take(part, final)
        if event is not None and announce:
            await adispatch_custom_event("failover", event)
        if chunk:
            yield chunk
    if last := final_chunk(final):
        yield last


def _take(part: Any, final: dict[str, Any]) -> tuple[Any, ChatGenerationChunk | None]:
    """One graph stream part, as both relays read it: the event to announce, the chunk.

    The event is the failover to announce (None: none); `final` keeps the latest state.
    """
    mode, payload = part
    if mode == "values":
        final.update(payload)
    return (payload if mode == "custom" else None), stream_chunk(mode, payload)


def stream_chunk(mode: str, payload: Any) -> ChatGenerationChunk | None:
    """Our stream's chunk for one graph stream part (None: nothing to yield)."""
    if mode == "messages":
        message, _ = payload
        if not isinstance(message, AIMessageChunk):
            return None
        # Text only. Tool calls and usage come with the final chunk, the answer's: a
        # primary cut after one tool call must not leave it in the sum for the app to run
        # twice, nor a primary whose answer was refused (empty) its tokens in the usage.
        # The providers' metadata (model names differ) would be glued together when summed.
        return ChatGenerationChunk(message=AIMessageChunk(content=message.content))
    if mode == "custom":
        event = AIMessageChunk(content="", response_metadata={"failover_events": [payload]})
        return ChatGenerationChunk(message=event)
    return None


def final_chunk(state: Any) -> ChatGenerationChunk | None:
    """The last chunk: the answer's tool calls, usage and failover facts (final state)."""
    answer = state["messages"][-1] if state and state.get("messages") else None
    if not isinstance(answer, AIMessage) or "failover" not in answer.response_metadata:
        return None
    calls = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
        for i, c in enumerate(answer.tool_calls)
    ]
    # Named once, here: the model that answered (usage callbacks key tokens by it).
    model = answer.response_metadata.get("model_name") or state["attempts"][-1]["model"]
    facts = {"failover": answer.response_metadata["failover"], "model_name": model}
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            tool_call_chunks=calls,
            response_metadata=facts,
            usage_metadata=answer.usage_metadata,
        ),
        generation_info=answered(state),
    )


def answered(state: Any) -> dict[str, Any]:
    """Generation info naming the provider and model that answered, for the run's trace."""
    attempt = state["attempts"][-1]
    who = {"provider": attempt["provider"], "model": attempt["model"]}
    return {GATEWAY_METADATA_RESPONSE_KEY: who}


def has_parent() -> bool:
    """Whether a calling runnable exists to attach a custom event to."""
    config = var_child_runnable_config.get()
    return bool(config and config.get("callbacks"))
