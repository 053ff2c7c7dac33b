"""The drop-in: a `BaseChatModel` that answers every call through the failover graph.

For apps whose code expects a chat model (`ModelFactory.create_chat_model(...)`,
`make_llm()`): `invoke`, `ainvoke`, `stream`, `astream`, `batch`, LCEL, `bind_tools` and
`with_structured_output` work as with any LangChain chat model, and each answer carries
`response_metadata["failover"]`.

The caller's callbacks see one chat-model run per call, this model's: the providers'
own runs happen inside the graph, apart from them, so nothing is counted twice (tokens,
usage, `on_chat_model_start`). Under a caller that shows tokens as they come
(`astream_events`, `stream_mode="messages"`), `invoke`/`ainvoke` relay the providers'
tokens as this run's, with the `failover` custom event, yet return the graph's final
answer, never the sum of a failed primary's partial text and the backup's answer. An
explicit `stream`/`astream` yields the tokens itself, with a chunk carrying
`response_metadata["failover_events"]` at each failover. Built with `streaming=False`
or `disable_streaming`, it shows no tokens and no failover event, as `ChatOpenAI`. A run
starts named for the chain and ends naming the provider and model that answered (see
`chat_stream.answered`).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

from langgraph_failover.chat_stream import answered, arelay, relay
from langgraph_failover.chat_structured import JSON_METHODS, json_output
from langgraph_failover.graph.context import Context


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
    stop: list[str] | None = None
    """Stop sequences sent to every provider on every call (a call's own `stop` wins)."""
    thread_id: str | None = None
    """A checkpointed session's id; None: stateless, the app sends the whole history."""
    streaming: bool | None = None
    """As `ChatOpenAI(streaming=...)`: False, no call shows tokens, even to a streaming
    caller (`astream_events`); True, every call does; None, as the caller asks."""

    @property
    def _llm_type(self) -> str:
        return "langgraph-failover"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "thread_id": self.thread_id}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        # Before the call, who will answer is unknown: the run is named for the chain,
        # and renamed for the provider that answered when it ends (see `_result`).
        chain = [n for n in self.graph.nodes if n not in ("__start__", "all_failed")]
        params = LangSmithParams(
            ls_provider="langgraph-failover", ls_model_name=">".join(chain), ls_model_type="chat"
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, int | float):
            params["ls_temperature"] = temperature
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer `tools` to every provider; their tool calls come back unchanged."""
        choice = "any" if tool_choice is True else (tool_choice or None)
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A forced tool call by default; JSON output for `json_schema` or `json_mode`."""
        method = kwargs.pop("method", None) or "function_calling"
        strict = kwargs.pop("strict", None)
        if method not in ("function_calling", *JSON_METHODS) or kwargs:
            raise ValueError(f"unsupported structured output: method={method!r}, {kwargs}")
        if method == "function_calling":
            return super().with_structured_output(schema, include_raw=include_raw)
        return json_output(self, schema, method, include_raw=include_raw, strict=strict)

    def batch(self, inputs: Any, config: Any = None, **kwargs: Any) -> Any:
        """As `BaseChatModel.batch`; one call at a time on a thread, so no turn is lost."""
        return super().batch(inputs, self._serial(config), **kwargs)

    async def abatch(self, inputs: Any, config: Any = None, **kwargs: Any) -> Any:
        """As `BaseChatModel.abatch`; one call at a time on a thread, so no turn is lost."""
        return await super().abatch(inputs, self._serial(config), **kwargs)

    def _serial(self, config: Any) -> Any:
        # The graph would serialise concurrent turns on the thread anyway, but in no set
        # order, and the last of a long batch could outwait its bound (`ThreadBusy`).
        if not self.thread_id or isinstance(config, list):
            return config
        return {**(config or {}), "max_concurrency": 1}

    def _should_stream(self, *, async_api: bool, run_manager: Any = None, **kwargs: Any) -> bool:
        # Only an explicit stream()/astream() streams; see the module docstring. With
        # `streaming=False` or `disable_streaming`, it yields the whole answer at once.
        return bool(kwargs.get("stream")) and super()._should_stream(
            async_api=async_api, run_manager=run_manager, **self._with_tools(kwargs)
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if run_manager and self._shows_tokens(run_manager, kwargs):
            final: dict[str, Any] = {}
            for chunk in relay(self.graph, *self._run(messages, stop, kwargs), final):
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            return _result(final)
        inputs, config, context = self._run(messages, stop, kwargs)
        # A context of its own: the providers' runs must not report to the caller's
        # callbacks as well as ours (two on_chat_model_start, usage counted twice).
        isolated = contextvars.Context()
        return _result(isolated.run(self.graph.invoke, inputs, config, context=context))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if run_manager and self._shows_tokens(run_manager, kwargs):
            final: dict[str, Any] = {}
            async for chunk in arelay(self.graph, *self._run(messages, stop, kwargs), final):
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            return _result(final)
        inputs, config, context = self._run(messages, stop, kwargs)
        run = self.graph.ainvoke(inputs, config, context=context)
        task = asyncio.get_running_loop().create_task(run, context=contextvars.Context())
        return _result(await task)  # see _generate

    def _shows_tokens(self, run_manager: Any, kwargs: dict[str, Any]) -> bool:
        """Whether this call relays tokens: the caller streams, and `streaming` allows it."""
        return super()._should_stream(
            async_api=False, run_manager=run_manager, **self._with_tools(kwargs)
        )

    def _with_tools(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # `disable_streaming="tool_calling"` looks for a call's `tools`; the factory's
        # tools are this model's field, not a call's keyword.
        return {"tools": self.tools, **kwargs}

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from relay(self.graph, *self._run(messages, stop, kwargs), {})

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in arelay(self.graph, *self._run(messages, stop, kwargs), {}):
            yield chunk

    def _run(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Any
    ) -> tuple[dict[str, Any], RunnableConfig, Context]:
        """The graph's input, config and per-call options for one call."""
        context = Context(
            tools=kwargs.get("tools", self.tools),
            tool_choice=kwargs.get("tool_choice", self.tool_choice),
            temperature=kwargs.get("temperature", self.temperature),
            stop=stop or self.stop,
            response_format=kwargs.get("response_format"),
        )
        # A fresh `configurable`: inherited from a calling graph it would make ours run as
        # that graph's subgraph (its checkpointer, its stream), not as a model call.
        # `is not None`: an empty or malformed id is refused by the graph, not dropped.
        thread = {"thread_id": self.thread_id} if self.thread_id is not None else {}
        config: RunnableConfig = {"run_name": "langgraph_failover", "configurable": thread}
        return {"messages": messages}, config, context


def _result(state: dict[str, Any]) -> ChatResult:
    answer = ChatGeneration(message=state["messages"][-1], generation_info=answered(state))
    return ChatResult(generations=[answer])
