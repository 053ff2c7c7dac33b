"""Build the failover graph: one node per provider in the chain, routed by state.

    START -(sticky?)-> openai -> ollama -> mock -> END
                         |         |
                         +---------+--> END as soon as one answers (or back to itself
                                        once, after a short Retry-After)

The entry edge skips providers this thread knows to be down (its `sticky` record). After
each provider node a conditional edge reads the recorded outcome and goes to the next
provider, retries the same one once, or ends the turn. A chain without the mock ends in
`all_failed`, which raises `AllProvidersFailed`; the user's message is already in the
checkpoint by then.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph._internal._constants import CONFIG_KEY_DURABILITY
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from llm_failover.clock import SYSTEM_CLOCK, Clock
from llm_failover.graph.context import Context
from llm_failover.graph.routing import after_attempt, first_node
from llm_failover.graph.settings import Settings, load_settings
from llm_failover.graph.state import InputState, State
from llm_failover.health.circuit import circuit_key
from llm_failover.health.store import CircuitStore, make_store
from llm_failover.nodes import Link, give_up_node, node_for

GIVE_UP = "all_failed"

FailoverGraph = CompiledStateGraph[State, Context, InputState, State]


def build_graph(
    *,
    checkpointer: BaseCheckpointSaver[Any] | bool | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    circuit_store: CircuitStore | None = None,
    **overrides: Any,
) -> FailoverGraph:
    """Compile the failover graph.

    Settings come from the environment at call time; keyword `overrides` (see the README's
    configuration table) take precedence. `models` replaces the client of a node by name
    (e.g. `{"mock": MockChatModel(replies=[...])}`); `clock` and `circuit_store` replace
    the wall clock and the circuit store (by default the process-wide one, or Redis when
    `LLM_FAILOVER_REDIS_URL` is set).
    """
    settings = load_settings(os.environ, **overrides)
    keys = _circuit_keys(settings)
    unknown = sorted(set(models or {}) - set(keys))
    if unknown:
        raise ValueError(f"models given for unknown node(s) {unknown}; the nodes are: {list(keys)}")
    store = circuit_store or make_store(settings.redis_url)
    builder = StateGraph(
        State, context_schema=Context, input_schema=InputState, output_schema=State
    )
    for index, spec in enumerate(settings.chain):
        link = Link(spec=spec, chain=tuple(keys), keys=keys, policy=settings.policy,
                    clock=clock, timeout=settings.timeout, secrets=_secrets(settings))  # fmt: skip
        builder.add_node(spec.node, node_for(link, settings, store, (models or {}).get(spec.node)))
        _route_after(builder, settings, index)
    if settings.chain[-1].provider != "mock":
        builder.add_node(GIVE_UP, give_up_node())

    def entry(state: State) -> str:
        return first_node(state, keys=keys, now=clock.now())

    builder.add_conditional_edges(START, entry, list(keys))
    graph = builder.compile(checkpointer=checkpointer, name="llm_failover")
    if checkpointer is None:
        return graph
    # A failed attempt must be on disk before the fallback is called, so that a crash
    # while the backup answers resumes on the backup; callers may still pass durability=.
    return graph.with_config(configurable={CONFIG_KEY_DURABILITY: "sync"})


def _route_after(builder: StateGraph[Any, Any, Any, Any], settings: Settings, index: int) -> None:
    """The edge after a provider: end, retry itself once, or the next provider."""
    chain = settings.chain
    node = chain[index].node
    if chain[index].provider == "mock":
        builder.add_edge(node, END)  # the mock cannot fail
        return
    target = chain[index + 1].node if index + 1 < len(chain) else GIVE_UP
    router = functools.partial(after_attempt, on_failure=target, policy=settings.policy)
    builder.add_conditional_edges(node, router, [node, target, END])


def _circuit_keys(settings: Settings) -> dict[str, str]:
    """Each node's circuit key, in chain order; the mock has none."""
    keys: dict[str, str] = {}
    for spec in settings.chain:
        if spec.provider == "openai":
            secret = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
            keys[spec.node] = circuit_key("openai", settings.openai_base_url, spec.model, secret)
        elif spec.provider == "ollama":
            keys[spec.node] = circuit_key("ollama", settings.ollama_base_url, spec.model, None)
        else:
            keys[spec.node] = ""
    return keys


def _secrets(settings: Settings) -> tuple[str, ...]:
    key = settings.openai_api_key
    return (key.get_secret_value(),) if key else ()
