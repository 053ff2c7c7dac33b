"""Graph nodes: one module per provider client, the mock, and the node that calls them."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langgraph._internal._runnable import RunnableCallable

from llm_failover.graph.settings import Settings
from llm_failover.health.store import CircuitStore
from llm_failover.nodes.attempt import Link
from llm_failover.nodes.call import give_up_node, provider_node
from llm_failover.nodes.mock import MockChatModel
from llm_failover.nodes.ollama_chat import ollama_model
from llm_failover.nodes.openai_chat import openai_model

__all__ = ["Link", "MockChatModel", "give_up_node", "node_for"]


def node_for(
    link: Link, settings: Settings, store: CircuitStore, model: BaseChatModel | None = None
) -> RunnableCallable:
    """Build the provider's client once (unless `model` is given) and wrap it in its node.

    An OpenAI node without an API key gets no client: it records `not_configured`.
    """
    provider = link.spec.provider
    if model is None and provider == "openai":
        model = openai_model(link.spec, settings)
    elif model is None and provider == "ollama":
        model = ollama_model(link.spec, settings)
    elif model is None:
        model = MockChatModel()
    return provider_node(link, model, store)
