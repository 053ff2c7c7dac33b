"""Hedging: a provider whose first token is late races the next provider of the route.

`LLM_FAILOVER_HEDGE_AFTER` gives each node a delay (`ProviderSpec.hedge_after`). The
graph gives such a node, once, the links and clients of the providers after it
(`hedges`); at run time `Hedge.race` picks the run's next provider after the node, unless
it is the last resort (the mock is never a hedge target) or not configured. The race
itself is `race.Race`: the backup starts only once the delay has passed without the
primary's first token and its circuit admits a plain call, so a healthy primary costs the
backup nothing.

The node's state update then carries both attempts: the one the turn goes on from last.
When one answered, the other, if still running, was cancelled and is recorded `hedged`
(no status, no news for its circuit): `[primary hedged, backup ok]`, or
`[backup hedged, primary ok]`. When neither answered, the primary's attempt comes first,
so the router goes on after the backup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel

from langgraph_failover.nodes.attempt import Call, Link
from langgraph_failover.nodes.race import Race


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Hedge:
    """A provider node's hedge, fixed when the graph is built."""

    after: float
    """Seconds its first token may take before the backup starts."""
    backups: Mapping[str, tuple[Link, BaseChatModel]]
    """The later nodes it may start, by name: configured, never the last resort."""

    def race(self, call: Call) -> Race | None:
        """The race for this call: against the run's next provider; None: no hedge."""
        route, node = call.run.route, call.link.spec.node
        later = route[route.index(node) + 1 :] if node in route else ()
        backup = self.backups.get(later[0]) if later else None
        return Race(call, *backup, after=self.after) if backup is not None else None


def hedges(
    links: Mapping[str, Link], models: Mapping[str, BaseChatModel | None]
) -> dict[str, Hedge]:
    """Each node's hedge (only nodes with a delay that are not the last resort get one)."""
    targets = {
        node: (link, model)
        for node, link in links.items()
        if (model := models.get(node)) is not None and not link.spec.endpoint.type.last_resort
    }
    return {
        node: Hedge(after=after, backups={n: targets[n] for n in _after(link) if n in targets})
        for node, link in links.items()
        if (after := link.spec.hedge_after) is not None and not link.spec.endpoint.type.last_resort
    }


def _after(link: Link) -> tuple[str, ...]:
    chain = link.chain
    return chain[chain.index(link.spec.node) + 1 :]
