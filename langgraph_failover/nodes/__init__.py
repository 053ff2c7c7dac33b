"""The provider node: one attempt at one provider, as a graph node, sync and async.

`attempt` holds one attempt's decisions and its record, `steps` the node's procedure (a
step generator free of I/O), `call` the thin sync and async shells that carry it out;
`options` translates per-call options to each client, `fit` and `truncation` keep the
history within a provider's context window, `deadlines` watches the first token and the
silences of a stream (read, for sync callers, in `workers`' threads); `hedge` starts the
next provider when a first token is late, `race` runs the two calls, first token
answering, and `background` is the loop sync callers' races run on; `pacing` reserves an
upstream's rate-limit budget before a call and settles it after; `unreached` says once
which provider could not be reached when the mock answers. `node_for` builds a
provider's client and wraps it in its node; the clients themselves are built by the
provider registry (`providers/`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from langgraph_failover.graph.settings import Settings
from langgraph_failover.health.budgets import BudgetStore
from langgraph_failover.health.store import CircuitStore
from langgraph_failover.nodes.attempt import Link
from langgraph_failover.nodes.call import give_up_node, provider_node
from langgraph_failover.nodes.hedge import Hedge, hedges
from langgraph_failover.pacing.headless import Headless
from langgraph_failover.providers.mock import MockChatModel
from langgraph_failover.providers.openai_compatible import chat_openai

__all__ = [
    "Hedge",
    "Link",
    "MockChatModel",
    "client_for",
    "give_up_node",
    "hedges",
    "node_for",
    "paced",
]


def node_for(
    link: Link,
    settings: Settings,
    store: CircuitStore,
    model: BaseChatModel | None = None,
    hedge: Hedge | None = None,
) -> Runnable[Any, Any]:
    """Build the provider's client once (unless `model` is given) and wrap it in its node.

    The client is built as the provider's registry entry says; one that is not
    configured (no API key where one is required) gets none, and records `not_configured`.
    """
    return provider_node(link, model or client_for(link, settings), store, hedge)


def client_for(link: Link, settings: Settings) -> BaseChatModel | None:
    """The provider's client as its registry entry builds it (None: not configured)."""
    spec = link.spec
    return spec.endpoint.client(
        spec.model, timeout=settings.timeout, context_tokens=spec.context_tokens
    )


def paced(link: Link, settings: Settings, store: CircuitStore, *, injected: bool) -> Link:
    """`link`, paced by its upstream's rate-limit headers when the graph can read them.

    Only the clients the graph builds report their responses' headers; an injected one
    goes unpaced, and so does a custom circuit store that keeps no budgets.
    """
    spec = link.spec
    reads = not injected and spec.endpoint.type.client is chat_openai
    if reads and settings.pacing and isinstance(store, BudgetStore):
        return dataclasses.replace(link, pacing=Headless())
    return link
