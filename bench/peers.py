"""Everything measured, behind one interface: our graph, LangGraph's floor and the peers.

A `Tool` answers one turn of a conversation, sync or async. Stateless tools (a direct
`ChatOpenAI`, `with_fallbacks`, LiteLLM's `Router`) are sent the whole history each turn,
as an app that keeps its own history does; a graph with a checkpointer is sent only the
new message, on its thread. Every tool talks to the same emulators with the real SDKs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage, convert_to_openai_messages
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI
from langgraph._internal._runnable import RunnableCallable  # as our nodes are built
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Durability
from pydantic import SecretStr

from langgraph_failover import build_graph
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.health.store import MemoryStore

API_KEY = "sk-bench-not-a-real-key"
OPENAI_MODEL = "gpt-4o-mini"
OLLAMA_MODEL = "qwen2.5:0.5b"
TIMEOUT = 30.0

Invoke = Callable[[str, Sequence[BaseMessage]], Any]
AInvoke = Callable[[str, Sequence[BaseMessage]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    """One way of answering a turn: `invoke(thread_id, history)` and its async twin."""

    name: str
    invoke: Invoke
    ainvoke: AInvoke
    stateful: bool = False
    """Whether it keeps the thread itself (then only the new message is sent)."""


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Where the emulated providers listen."""

    openai: str
    ollama: str


def shared_openai(up: Upstreams) -> ChatOpenAI:
    """The `ChatOpenAI` client exactly as our graph builds it (max_retries=0, built once)."""
    settings = load_settings({}, openai_api_key=API_KEY, openai_base_url=up.openai, timeout=TIMEOUT)
    spec = settings.chain[0]
    client = spec.endpoint.client(spec.model, timeout=TIMEOUT, context_tokens=None)
    assert isinstance(client, ChatOpenAI)  # an API key is set
    return client


def direct(client: BaseChatModel, name: str = "direct ChatOpenAI") -> Tool:
    """The client called directly: no fallback, no graph."""
    return Tool(name, lambda _t, h: client.invoke(h), lambda _t, h: client.ainvoke(h))


def backup(up: Upstreams) -> ChatOllama:
    """The Ollama client as a peer builds it: the backup every tool fails over to."""
    return ChatOllama(model=OLLAMA_MODEL, base_url=up.ollama)


def with_fallbacks(
    up: Upstreams, *, max_retries: int | None, timeout: float = TIMEOUT, label: str = ""
) -> Tool:
    """`ChatOpenAI(...).with_fallbacks([ChatOllama(...)])`, the SDK's retries as given."""
    retries: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    primary = ChatOpenAI(
        model=OPENAI_MODEL,
        api_key=SecretStr(API_KEY),
        base_url=up.openai,
        timeout=timeout,
        **retries,
    )
    chain = primary.with_fallbacks([backup(up)])
    label = label or ("default retries" if max_retries is None else f"max_retries={max_retries}")
    return Tool(f"with_fallbacks ({label})", lambda _t, h: chain.invoke(h),
                lambda _t, h: chain.ainvoke(h))  # fmt: skip


def litellm_router(
    up: Upstreams,
    label: str,
    timeout: float = TIMEOUT,
    *,
    primary: dict[str, Any] | None = None,
    **settings: Any,
) -> Tool:
    """LiteLLM's `Router`: the OpenAI deployment with the Ollama one as its fallback.

    `primary` adds to the OpenAI deployment's `litellm_params` (its `rpm`, `tpm`).
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch on import
    # Imported here, as a plain module: only `python3 dev.py bench` installs it.
    litellm: Any = importlib.import_module("litellm")
    litellm.suppress_debug_info = True
    router_class: Any = litellm.Router
    model_list: list[dict[str, Any]] = [
        {"model_name": "primary", "litellm_params": {
            "model": f"openai/{OPENAI_MODEL}", "api_base": up.openai, "api_key": API_KEY,
            "timeout": timeout, "stream_timeout": timeout, **(primary or {})}},
        {"model_name": "backup", "litellm_params": {
            "model": f"ollama_chat/{OLLAMA_MODEL}", "api_base": up.ollama, "timeout": TIMEOUT}},
    ]  # fmt: skip
    router = router_class(model_list=model_list, fallbacks=[{"primary": ["backup"]}], **settings)

    def invoke(_thread: str, history: Sequence[BaseMessage]) -> Any:
        return router.completion(model="primary", messages=_dicts(history))

    async def ainvoke(_thread: str, history: Sequence[BaseMessage]) -> Any:
        return await router.acompletion(model="primary", messages=_dicts(history))

    return Tool(f"LiteLLM Router ({label})", invoke, ainvoke)


def _dicts(history: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    return list(convert_to_openai_messages(list(history)))


def ours(
    up: Upstreams,
    client: ChatOpenAI | None,
    checkpointer: BaseCheckpointSaver[Any] | None,
    *,
    name: str,
    durability: Durability | None = None,
    store: MemoryStore | None = None,
    **settings: Any,
) -> Tool:
    """The failover graph (openai -> ollama -> mock) on the shared client and a store.

    `client` None: the graph builds its own OpenAI client, which it paces (an injected
    client is not: the graph cannot read its responses' headers). `settings` are more of
    `build_graph`'s keywords (`hedge_after=0.3`...).
    """
    graph = build_graph(
        checkpointer=checkpointer,
        models={"openai": client} if client is not None else None,
        circuit_store=store if store is not None else MemoryStore(),
        provider="openai",
        fallback_provider="ollama,mock",
        openai_api_key=API_KEY,
        openai_base_url=up.openai,
        ollama_base_url=up.ollama,
        timeout=TIMEOUT,
        **settings,
    )
    return _graph_tool(name, graph, checkpointer is not None, durability)


def floor(
    client: BaseChatModel,
    checkpointer: BaseCheckpointSaver[Any] | None,
    *,
    name: str,
    durability: Durability | None = None,
) -> Tool:
    """LangGraph's floor: one node that calls the same client, `add_messages` state."""

    def node(state: MessagesState) -> dict[str, list[AnyMessage]]:
        return {"messages": [client.invoke(state["messages"])]}

    async def anode(state: MessagesState) -> dict[str, list[AnyMessage]]:
        return {"messages": [await client.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("llm", RunnableCallable(node, anode, name="llm", trace=False))
    builder.add_edge(START, "llm")
    graph = builder.compile(checkpointer=checkpointer, name="floor")
    return _graph_tool(name, graph, checkpointer is not None, durability)


def _graph_tool(name: str, graph: Any, stateful: bool, durability: Durability | None) -> Tool:
    extra: dict[str, Any] = {} if durability is None else {"durability": durability}

    def inputs(thread: str, history: Sequence[BaseMessage]) -> tuple[Any, Any]:
        messages = history[-1:] if stateful else history
        return {"messages": messages}, {"configurable": {"thread_id": thread}}

    def invoke(thread: str, history: Sequence[BaseMessage]) -> Any:
        return graph.invoke(*inputs(thread, history), **extra)

    async def ainvoke(thread: str, history: Sequence[BaseMessage]) -> Any:
        return await graph.ainvoke(*inputs(thread, history), **extra)

    return Tool(name, invoke, ainvoke, stateful=stateful)


def answered_by(result: Any) -> str:
    """Which provider answered: `served_by`, or the emulators' echo prefix of the text."""
    if isinstance(result, dict) and "served_by" in result:
        return str(result["served_by"])
    if isinstance(result, dict):
        text = str(result["messages"][-1].content)
    elif hasattr(result, "choices"):
        text = str(result.choices[0].message.content)
    else:
        text = str(getattr(result, "content", result))
    for provider in ("openai", "ollama"):
        if text.startswith(f"[{provider} "):
            return provider
    return "other"
