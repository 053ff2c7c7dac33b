"""The drop-in: a `BaseChatModel` that answers every call through the failover graph.

For apps whose code expects a chat model (`ModelFactory.create_chat_model(...)`,
`make_llm()`): `invoke`, `ainvoke`, `stream`, `astream`, `batch`, LCEL, `bind_tools` and
`with_structured_output` work as with any LangChain chat model, and each answer carries
`response_metadata["failover"]`.

`invoke`/`ainvoke` return the graph's final answer and never stream themselves: the
providers' own token events reach the caller's callbacks (so `astream_events` in an app's
graph shows them, with the `failover` custom event), and the returned message can never
be the sum of a failed primary's partial text and the backup's answer. An explicit
`stream`/`astream` yields the tokens itself, with a chunk carrying
`response_metadata["failover_events"]` at each failover.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from llm_failover.chat_stream import STREAM_MODES, final_chunk, has_parent, stream_chunk
from llm_failover.graph.context import Context


class FailoverChatModel(BaseChatModel):
    """A chat model backed by a compiled failover graph (see `create_chat_model`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    graph: Any = Field(exclude=True, repr=False)
    """The compiled failover graph; built once and shared by every copy of the model."""
    temperature: float | None = None
    """Sampling temperature sent to every provider."""
    tools: list[dict[str, Any]] | None = None
    """Tools bound with `bind_tools`, in OpenAI's function format."""
    tool_choice: str | dict[str, Any] | None = None
    """The tool choice bound with `bind_tools`."""
    thread_id: str | None = None
    """A checkpointed session's id; None: stateless, the app sends the whole history."""

    @property
    def _llm_type(self) -> str:
        return "llm-failover"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "thread_id": self.thread_id}

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer `tools` to every provider; their tool calls come back unchanged."""
        choice = "any" if tool_choice is True else (tool_choice or None)
        model = self.model_copy(
            update={"tools": [convert_to_openai_tool(t) for t in tools], "tool_choice": choice}
        )
        return model.bind(**kwargs) if kwargs else model

    def batch(self, inputs: Any, config: Any = None, **kwargs: Any) -> Any:
        """As `BaseChatModel.batch`; one call at a time on a thread, so no turn is lost."""
        return super().batch(inputs, self._serial(config), **kwargs)

    async def abatch(self, inputs: Any, config: Any = None, **kwargs: Any) -> Any:
        """As `BaseChatModel.abatch`; one call at a time on a thread, so no turn is lost."""
        return await super().abatch(inputs, self._serial(config), **kwargs)

    def _serial(self, config: Any) -> Any:
        # Concurrent turns on one checkpointed thread would each overwrite the others.
        if not self.thread_id or isinstance(config, list):
            return config
        return {**(config or {}), "max_concurrency": 1}

    def _should_stream(self, *, async_api: bool, run_manager: Any = None, **kwargs: Any) -> bool:
        # Only an explicit stream()/astream() streams; see the module docstring.
        return bool(kwargs.get("stream")) and super()._should_stream(
            async_api=async_api, run_manager=run_manager, **kwargs
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        inputs, config, context = self._run(messages, stop, kwargs)
        return _result(self.graph.invoke(inputs, config, context=context))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        inputs, config, context = self._run(messages, stop, kwargs)
        return _result(await self.graph.ainvoke(inputs, config, context=context))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        inputs, config, context = self._run(messages, stop, kwargs)
        announce = has_parent()
        # A context of its own: the caller's callbacks (an app's astream_events) must see
        # our chunks only, not the providers' tokens as well.
        isolated = contextvars.Context()
        parts = isolated.run(
            self.graph.stream, inputs, config, context=context, stream_mode=STREAM_MODES
        )
        last = None
        while (part := isolated.run(next, parts, None)) is not None:
            mode, payload = part
            last = payload if mode == "values" else last
            if mode == "custom" and announce:
                dispatch_custom_event("failover", payload)
            if chunk := stream_chunk(mode, payload):
                yield chunk
        if final := final_chunk(last):
            yield final

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        inputs, config, context = self._run(messages, stop, kwargs)
        announce = has_parent()
        isolated = contextvars.Context()  # see _stream
        parts = isolated.run(
            self.graph.astream, inputs, config, context=context, stream_mode=STREAM_MODES
        )
        loop, last = asyncio.get_running_loop(), None
        while True:
            try:
                mode, payload = await loop.create_task(anext(parts), context=isolated)
            except StopAsyncIteration:
                break
            last = payload if mode == "values" else last
            if mode == "custom" and announce:
                await adispatch_custom_event("failover", payload)
            if chunk := stream_chunk(mode, payload):
                yield chunk
        if final := final_chunk(last):
            yield final

    def _run(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Any
    ) -> tuple[dict[str, Any], RunnableConfig, Context]:
        """The graph's input, config and per-call options for one call."""
        context = Context(
            tools=kwargs.get("tools", self.tools),
            tool_choice=kwargs.get("tool_choice", self.tool_choice),
            temperature=kwargs.get("temperature", self.temperature),
            stop=stop,
        )
        # A fresh `configurable`: inherited from a calling graph it would make ours run as
        # that graph's subgraph (its checkpointer, its stream), not as a model call.
        thread = {"thread_id": self.thread_id} if self.thread_id else {}
        config: RunnableConfig = {"run_name": "llm_failover", "configurable": thread}
        return {"messages": messages}, config, context


def _result(state: dict[str, Any]) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=state["messages"][-1])])
