"""Per-call options, translated to each provider's client.

The run's `Context` (tools, tool choice, temperature, stop, response format) means the
same thing to every provider but is spelled differently by each client: Ollama has no
`tool_choice` and takes its temperature inside `options`. This is the one place that
knows those spellings.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from langgraph_failover.graph.context import Context

ModelCall = Runnable[LanguageModelInput, BaseMessage]


def bind_options(
    model: BaseChatModel,
    context: Context,
    *,
    tools: bool = True,
    timeout: float | None = None,
    name: str | None = None,
) -> ModelCall:
    """`model` with this call's options bound, in the spelling its client understands.

    `timeout` is the run's per-call limit, lowered when the turn budget is nearly spent:
    OpenAI's client takes it per request; Ollama's cannot, and is bounded by its own client
    timeout. `name` is the run's model when it is not the client's own; both clients take
    it per request, so one client serves every model a run may ask for.
    """
    call: ModelCall = model
    if tools and context.tools:
        if isinstance(model, ChatOllama):
            call = model.bind_tools(context.tools)  # Ollama's API has no tool_choice
        else:
            # Clients take OpenAI's dict form too, though BaseChatModel types only str.
            choice: Any = context.tool_choice
            call = model.bind_tools(context.tools, tool_choice=choice)
    extra: dict[str, Any] = {"model": name} if name else {}
    if timeout is not None and isinstance(model, ChatOpenAI) and timeout != _seconds(model):
        extra["timeout"] = timeout
    if context.stop:
        extra["stop"] = context.stop
    if context.response_format:
        extra["response_format"] = context.response_format  # ChatOllama makes it `format`
    if context.temperature is not None:
        if isinstance(model, ChatOllama):
            # `options` replaces the client's own, so carry over the context window and
            # the stop sequences (the client puts `stop` in the options it builds itself).
            base = {"num_ctx": model.num_ctx} if model.num_ctx else {}
            stop = {"stop": context.stop} if context.stop else {}
            extra["options"] = {**base, **stop, "temperature": context.temperature}
        else:
            extra["temperature"] = context.temperature
    return call.bind(**extra) if extra else call


def _seconds(model: ChatOpenAI) -> float:
    """The client's own timeout in seconds (it may be a number, a tuple or None)."""
    timeout = model.request_timeout
    return float(timeout) if isinstance(timeout, int | float) else float("inf")


def trace_config(
    provider: str, model: str, node: str, number: int, *, retry: bool, probe: bool
) -> RunnableConfig:
    """Run name, tags and metadata that show each attempt in traces (LangSmith too).

    The attempt's outcome is in the trace as the model run's error, and a failover as the
    `failover` custom event with its error kind.
    """
    return {
        "run_name": f"{node} attempt {number}",
        "tags": ["llm_failover", f"llm_failover:{provider}"],
        "metadata": {
            "llm_failover_provider": provider,
            "llm_failover_model": model,
            "llm_failover_node": node,
            "llm_failover_attempt": number,
            "llm_failover_retry": retry,
            "llm_failover_probe": probe,
        },
    }
