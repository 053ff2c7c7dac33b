"""`create_chat_model`: what an app's model factory becomes.

Apps call their factory on every request (`ModelFactory.create_chat_model(...)` in a Flask
route), so the compiled graph, and the SDK clients inside it, are built once per
configuration and shared; a call only wraps the shared graph in a light model object.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import SecretStr

from langgraph_failover.chat_model import FailoverChatModel
from langgraph_failover.checkpoint import open_checkpointer
from langgraph_failover.graph.builder import FailoverGraph, build_graph
from langgraph_failover.graph.declared import BY_ENV
from langgraph_failover.graph.keywords import CREATE_CHAT_MODEL, UnknownKeyword
from langgraph_failover.graph.settings import read_environment

CHECKPOINT_URL = BY_ENV["LLM_FAILOVER_CHECKPOINT_URL"]

_lock = threading.Lock()
_MAX_GRAPHS = 32
# Overrides that are objects (models, clock, store): each call gets its own graph.
_OBJECTS = ("models", "clock", "circuit_store")
_graphs: OrderedDict[tuple[Any, ...], FailoverGraph] = OrderedDict()
_savers: dict[str, BaseCheckpointSaver[Any]] = {}


def create_chat_model(
    temperature: float = 0.7,
    tools: Sequence[Any] | None = None,
    *,
    thread_id: str | None = None,
    checkpointer: BaseCheckpointSaver[Any] | str | os.PathLike[str] | None = None,
    streaming: bool | None = None,
    disable_streaming: bool | Literal["tool_calling"] = False,
    **overrides: Any,
) -> FailoverChatModel:
    """A chat model that fails over like the graph (settings from the environment).

    Stateless unless `thread_id` is given; then the conversation is checkpointed in
    `checkpointer`, by default the one `LLM_FAILOVER_CHECKPOINT_URL` names: PostgreSQL
    for `postgresql://...`, else a SQLite file (in the working directory when unset).
    `checkpointer` is a saver, or a URL or path (`pathlib.Path` too) opened as that
    variable's value would be, once per process.
    `streaming` and `disable_streaming` mean what they mean on `ChatOpenAI`
    (`streaming=False`: no token events, even under `astream_events`).
    `overrides` are `build_graph`'s keywords.

    Args:
        temperature: Sampling temperature, sent to every provider of the chain.
        tools: Tools to offer the model (LangChain tools, functions or OpenAI dicts), as
            `bind_tools` would.
        thread_id: Keep the conversation under this id: each call sends only the new
            messages, and the model remembers the rest.
        checkpointer: Where a `thread_id`'s conversation is saved, instead of the one
            `LLM_FAILOVER_CHECKPOINT_URL` names.
        streaming: `True` reports tokens to callbacks even on `invoke`; `False` never
            streams; `None` streams when asked to.
        disable_streaming: `True`, or `"tool_calling"` for calls that offer tools: answer
            `stream()` in one chunk.
        **overrides: `build_graph`'s settings by keyword (`provider="groq"`, `timeout=20`).

    Returns:
        A LangChain chat model (`invoke`, `ainvoke`, `stream`, `astream`, `bind_tools`,
        `with_structured_output`); each answer's `response_metadata["failover"]` says who
        served it (`served_by`), whether it is `degraded`, and every attempt.

    Raises:
        ConfigError: A setting is malformed or out of range, naming the variable.

    """
    saver = None
    if thread_id is not None:
        if checkpointer is None or isinstance(checkpointer, str | os.PathLike):
            saver = _shared_saver(checkpointer)
        else:
            saver = checkpointer
    try:
        graph = _graph(saver, overrides)
    except UnknownKeyword as exc:  # told in the name the app called
        raise exc.inside("create_chat_model", CREATE_CHAT_MODEL) from None
    model = FailoverChatModel(
        graph=graph,
        temperature=temperature,
        thread_id=thread_id,
        streaming=streaming,
        disable_streaming=disable_streaming,
    )
    if tools:
        model = model.model_copy(update={"tools": [convert_to_openai_tool(t) for t in tools]})
    return model


def _graph(saver: BaseCheckpointSaver[Any] | None, overrides: dict[str, Any]) -> FailoverGraph:
    """The shared graph for this environment, these settings and this checkpointer."""
    if any(name in overrides for name in _OBJECTS):
        return build_graph(checkpointer=saver, **overrides)  # objects: not comparable keys
    env = read_environment(os.environ)
    settings = tuple(sorted((name, _comparable(value)) for name, value in overrides.items()))
    key = (env, settings, id(saver))
    with _lock:
        if key in _graphs:
            _graphs.move_to_end(key)
        else:
            _graphs[key] = build_graph(checkpointer=saver, **overrides)
            while len(_graphs) > _MAX_GRAPHS:  # e.g. a checkpointer made per request
                _graphs.popitem(last=False)
        return _graphs[key]


def _comparable(value: Any) -> str:
    """A keyword's value as part of a cache key; a secret by its hash (its repr is masked)."""
    if isinstance(value, SecretStr):  # as pydantic-settings apps hold their keys
        return "secret:" + hashlib.sha256(value.get_secret_value().encode()).hexdigest()
    return repr(value)


def _shared_saver(where: str | os.PathLike[str] | None) -> BaseCheckpointSaver[Any]:
    """The process's saver for a URL or path; None: the one the environment names."""
    url = os.fspath(where) if where else None
    url = url or os.environ.get(CHECKPOINT_URL.env) or str(CHECKPOINT_URL.default)
    with _lock:
        if url not in _savers:
            _savers[url] = open_checkpointer(url)
        return _savers[url]
