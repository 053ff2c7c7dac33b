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

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from llm_failover.graph.context import Context

STREAM_MODES = ["messages", "custom", "values"]


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
        inputs, config, context = self._run(messages, stop, kwargs, isolate=False)
        return _result(self.graph.invoke(inputs, config, context=context))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        inputs, config, context = self._run(messages, stop, kwargs, isolate=False)
        return _result(await self.graph.ainvoke(inputs, config, context=context))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        inputs, config, context = self._run(messages, stop, kwargs, isolate=True)
        for mode, payload in self.graph.stream(
            inputs, config, context=context, stream_mode=STREAM_MODES
        ):
            if mode == "custom" and _has_parent():
                dispatch_custom_event("failover", payload)
            if chunk := _chunk(mode, payload):
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        inputs, config, context = self._run(messages, stop, kwargs, isolate=True)
        async for mode, payload in self.graph.astream(
            inputs, config, context=context, stream_mode=STREAM_MODES
        ):
            if mode == "custom" and _has_parent():
                await adispatch_custom_event("failover", payload)
            if chunk := _chunk(mode, payload):
                yield chunk

    def _run(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Any, *, isolate: bool
    ) -> tuple[dict[str, Any], RunnableConfig, Context]:
        """The graph's input, config and per-call options for one call."""
        context = Context(
            tools=kwargs.get("tools", self.tools),
            tool_choice=kwargs.get("tool_choice", self.tool_choice),
            temperature=kwargs.get("temperature", self.temperature),
            stop=stop,
        )
        config: RunnableConfig = {"run_name": "llm_failover"}
        if self.thread_id:
            config["configurable"] = {"thread_id": self.thread_id}
        if isolate:
            # Our own chunks are the token events; the providers' would count twice.
            config["callbacks"] = []
        return {"messages": messages}, config, context


def _result(state: dict[str, Any]) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=state["messages"][-1])])


def _chunk(mode: str, payload: Any) -> ChatGenerationChunk | None:
    """Our stream's chunk for one graph stream part (None: nothing to yield)."""
    if mode == "messages":
        message, _ = payload
        if not isinstance(message, AIMessageChunk):
            return None
        # Only text, tool-call pieces and usage: the providers' metadata (model names
        # differ between them) would be glued together when the chunks are summed.
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=message.content,
                tool_call_chunks=message.tool_call_chunks,
                usage_metadata=message.usage_metadata,
            )
        )
    if mode == "custom":
        event = AIMessageChunk(content="", response_metadata={"failover_events": [payload]})
        return ChatGenerationChunk(message=event)
    answer = payload["messages"][-1] if payload.get("messages") else None
    if isinstance(answer, AIMessage) and "failover" in answer.response_metadata:
        facts = {"failover": answer.response_metadata["failover"]}
        return ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=facts))
    return None


def _has_parent() -> bool:
    """Whether a calling runnable exists to attach a custom event to."""
    config = var_child_runnable_config.get()
    return bool(config and config.get("callbacks"))
