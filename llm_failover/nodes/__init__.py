"""Graph nodes: one module per provider client, the mock, and the node that calls them."""

from __future__ import annotations

from langgraph._internal._runnable import RunnableCallable

from llm_failover.graph.settings import ProviderSpec, Settings
from llm_failover.nodes.call import give_up_node, provider_node, unconfigured_node
from llm_failover.nodes.mock import MockChatModel
from llm_failover.nodes.ollama_chat import ollama_model
from llm_failover.nodes.openai_chat import openai_model

__all__ = ["MockChatModel", "give_up_node", "node_for", "provider_node"]


def node_for(spec: ProviderSpec, settings: Settings) -> RunnableCallable:
    """Build the provider's client once and wrap it in its graph node."""
    if spec.provider == "openai":
        model = openai_model(spec, settings)
        if model is None:
            return unconfigured_node(spec, "OPENAI_API_KEY is not set")
        return provider_node(spec, model)
    if spec.provider == "ollama":
        return provider_node(spec, ollama_model(spec, settings))
    return provider_node(spec, MockChatModel())
