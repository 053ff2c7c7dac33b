"""Build the failover graph: one node per provider in the chain, routed by state.

    START -> openai -> ollama -> mock -> END
               |         |
               +---------+--> END as soon as one answers

After each provider node a conditional edge reads the recorded outcome and goes to the
next provider or ends the turn. A chain without the mock ends in `all_failed`, which
raises `AllProvidersFailed`; the user's message is already in the checkpoint by then.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from llm_failover.graph.routing import after_attempt
from llm_failover.graph.settings import load_settings
from llm_failover.graph.state import InputState, State
from llm_failover.nodes import give_up_node, node_for, provider_node

GIVE_UP = "all_failed"

FailoverGraph = CompiledStateGraph[State, None, InputState, State]


def build_graph(
    *,
    checkpointer: BaseCheckpointSaver[Any] | bool | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    **overrides: Any,
) -> FailoverGraph:
    """Compile the failover graph.

    Settings come from the environment at call time; keyword `overrides` (`provider`,
    `model`, `fallback_provider`, `fallback_model`, `timeout`, `openai_api_key`,
    `openai_base_url`, `ollama_base_url`) take precedence. `models` replaces the client
    of a node by name (e.g. `{"mock": MockChatModel(replies=[...])}`).
    """
    settings = load_settings(os.environ, **overrides)
    chain = settings.chain
    unknown = sorted(set(models or {}) - {spec.node for spec in chain})
    if unknown:
        nodes = ", ".join(spec.node for spec in chain)
        raise ValueError(f"models given for unknown node(s) {unknown}; the nodes are: {nodes}")
    builder = StateGraph(State, input_schema=InputState, output_schema=State)
    for index, spec in enumerate(chain):
        injected = (models or {}).get(spec.node)
        node = provider_node(spec, injected) if injected else node_for(spec, settings)
        builder.add_node(spec.node, node)
        if spec.provider == "mock":
            builder.add_edge(spec.node, END)  # the mock cannot fail
            continue
        target = chain[index + 1].node if index + 1 < len(chain) else GIVE_UP
        router = functools.partial(after_attempt, on_failure=target)
        builder.add_conditional_edges(spec.node, router, [target, END])
    if chain[-1].provider != "mock":
        builder.add_node(GIVE_UP, give_up_node())
    builder.add_edge(START, chain[0].node)
    return builder.compile(checkpointer=checkpointer, name="llm_failover")
