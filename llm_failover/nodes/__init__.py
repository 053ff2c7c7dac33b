"""Graph nodes: the provider node (`call.py`, `steps.py`, `attempt.py`) and its options.

The provider clients themselves are built by the provider registry (`providers/`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from llm_failover.graph.settings import Settings
from llm_failover.health.budgets import BudgetStore
from llm_failover.health.store import CircuitStore
from llm_failover.nodes.attempt import Link
from llm_failover.nodes.call import give_up_node, provider_node
from llm_failover.pacing.headless import Headless
from llm_failover.providers.mock import MockChatModel
from llm_failover.providers.openai_compatible import chat_openai

__all__ = ["Link", "MockChatModel", "give_up_node", "node_for"]


def node_for(
    link: Link, settings: Settings, store: CircuitStore, model: BaseChatModel | None = None
) -> Runnable[Any, Any]:
    """Build the provider's client once (unless `model` is given) and wrap it in its node.

    The client is built as the provider's registry entry says; one that is not
    configured (no API key where one is required) gets none, and records `not_configured`.
    """
    spec = link.spec
    # Only the clients built here report their responses' headers; an injected one
    # goes unpaced, and so does a custom circuit store that keeps no budgets.
    paced = model is None and spec.endpoint.type.client is chat_openai
    if paced and settings.pacing and isinstance(store, BudgetStore):
        link = dataclasses.replace(link, pacing=Headless())
    if model is None:
        model = spec.endpoint.client(
            spec.model, timeout=settings.timeout, context_tokens=spec.context_tokens
        )
    return provider_node(link, model, store)
