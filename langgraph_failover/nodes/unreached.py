"""A silent mock is a bug: say once which provider could not be reached, and why.

With nothing configured, a first call is answered by the mock: the primary has no API
key, the local server is not running. Each of those failovers is logged already, but as
a JSON line for operators (DEBUG for a provider that made no request). So when the last
resort answers a turn, each provider before it that is not configured (`OPENAI_API_KEY is
not set`) or refused the connection (`ollama at http://127.0.0.1:11434: connection
refused`) gets one plain WARNING on the `langgraph_failover` logger, once per provider
(its name and URL) per process: the URL with its credentials masked, never a key.

Not reset when the provider answers again: what it says is a setup problem, told once;
a later outage is told by the failover and circuit lines, and a flapping server would
otherwise repeat it. Only the last resort's node runs this (chosen when the graph is
built), so a turn another provider answers does no extra work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from langgraph_failover.errors import REFUSED
from langgraph_failover.graph.context import Context
from langgraph_failover.graph.settings import ProviderSpec
from langgraph_failover.graph.state import Attempt, State
from langgraph_failover.nodes.attempt import Link
from langgraph_failover.nodes.steps import Steps, attempt_steps
from langgraph_failover.secrets import mask

if TYPE_CHECKING:
    from langgraph_failover.nodes.hedge import Hedge

log = logging.getLogger("langgraph_failover")

MAX_WARNED = 256
"""Providers warned about, at most: bounded, whatever URLs the graphs of a process name."""
_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def last_resort_steps(
    link: Link,
    state: State,
    model: BaseChatModel | None,
    context: Context,
    step: int,
    hedge: Hedge | None = None,
) -> Steps:
    """`attempt_steps` for the last resort; once it answered, warn about who could not."""
    update = yield from attempt_steps(link, state, model, context, step, hedge)
    for answer in update.get("messages", ()):
        warn_unreached(link.plan.settings.chain, answer.response_metadata["failover"]["attempts"])
    return update


def warn_unreached(chain: Sequence[ProviderSpec], attempts: Sequence[Attempt]) -> None:
    """One WARNING per provider of `attempts` not configured or refusing connections."""
    for attempt in attempts:
        if unreached(attempt):
            for spec in chain:
                if spec.node == attempt["node"]:
                    _warn_once(attempt, spec)


def _warn_once(attempt: Attempt, spec: ProviderSpec) -> None:
    """Say what `spec`'s provider lacked, unless this process said it already."""
    name = (spec.provider, spec.endpoint.base_url or "")  # what is said is masked
    with _lock:
        if name in _warned or len(_warned) >= MAX_WARNED:
            return
        _warned.add(name)
    log.warning("%s; the mock answered this turn instead (said once per provider)",
                missing(attempt, spec))  # fmt: skip


def unreached(attempt: Attempt) -> bool:
    """Whether `attempt` failed for want of setup: no key, or nothing listening."""
    error = attempt["error"]
    refused = error == "connection" and (attempt["detail"] or "").startswith(REFUSED)
    return error == "not_configured" or refused


def missing(attempt: Attempt, spec: ProviderSpec) -> str:
    """What an `unreached` attempt lacked, in words, its URL's credentials masked."""
    if attempt["error"] == "not_configured":
        return f"{spec.endpoint.type.env_name('api_key')} is not set"
    url = mask(spec.endpoint.base_url) if spec.endpoint.base_url else "its default URL"
    return f"{spec.provider} at {url}: connection refused"
