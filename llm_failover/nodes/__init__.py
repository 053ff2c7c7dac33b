"""The provider node: one attempt at one provider, as a graph node, sync and async.

`attempt` holds one attempt's decisions and its record, `steps` the node's procedure (a
step generator free of I/O), `call` the thin sync and async shells that carry it out;
`options` translates per-call options to each client, `fit` and `truncation` keep the
history within a provider's context window, `deadlines` watches the first token and the
silences of a stream. `node_for` builds a provider's client and wraps it in its node; the
clients themselves are built by the provider registry (`providers/`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from llm_failover.graph.settings import Settings
from llm_failover.health.store import CircuitStore
from llm_failover.nodes.attempt import Link
from llm_failover.nodes.call import give_up_node, provider_node
from llm_failover.providers.mock import MockChatModel

__all__ = ["Link", "MockChatModel", "give_up_node", "node_for"]


def node_for(
    link: Link, settings: Settings, store: CircuitStore, model: BaseChatModel | None = None
) -> Runnable[Any, Any]:
    """Build the provider's client once (unless `model` is given) and wrap it in its node.

    The client is built as the provider's registry entry says; one that is not
    configured (no API key where one is required) gets none, and records `not_configured`.
    """
    spec = link.spec
    if model is None:
        model = spec.endpoint.client(
            spec.model, timeout=settings.timeout, context_tokens=spec.context_tokens
        )
    return provider_node(link, model, store)
