"""Settings given per provider or node name: `ollama=4096`, `openai=10,ollama=60`, `10`.

`LLM_FAILOVER_CONTEXT_TOKENS`, the stream limits (`LLM_FAILOVER_FIRST_TOKEN_TIMEOUT`,
`LLM_FAILOVER_STALL_TIMEOUT`) and the hedge delay (`LLM_FAILOVER_HEDGE_AFTER`) share this
syntax; each link of the chain takes the value named for its node, else for its provider,
else the one for all, else its type's default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.values import seconds
from langgraph_failover.providers import BUILT_IN

if TYPE_CHECKING:
    from langgraph_failover.graph.chain import ProviderSpec

T = TypeVar("T")


def deadlines(
    chain: tuple[ProviderSpec, ...], first: Any, stall: Any, hedge: Any = None
) -> tuple[ProviderSpec, ...]:
    """Apply the stream limits and the hedge delay (`10`, `openai=10,ollama=60`) to the chain.

    `0` turns one off.
    """

    def limits(setting: str, value: Any) -> dict[str, float | None]:
        def parse(name: str, number: str) -> float | None:
            return seconds(number.strip(), f"{setting} ({name or 'all'})", zero_ok=True) or None

        return per_node(chain, value, setting, parse)

    firsts = limits("LLM_FAILOVER_FIRST_TOKEN_TIMEOUT", first)
    stalls = limits("LLM_FAILOVER_STALL_TIMEOUT", stall)
    hedges = limits("LLM_FAILOVER_HEDGE_AFTER", hedge)
    return tuple(
        dataclasses.replace(
            spec,
            first_token_timeout=lookup(spec, firsts, {"": spec.endpoint.type.first_token_timeout}),
            stall_timeout=lookup(spec, stalls, {"": spec.endpoint.type.stall_timeout}),
            hedge_after=lookup(spec, hedges, {}),
        )
        for spec in chain
    )


def lookup(spec: ProviderSpec, found: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    """A spec's value: by node, by provider, for all (""), else the default."""
    for name in (spec.node, spec.provider, ""):
        if name in found:
            return found[name]
    return defaults.get(spec.provider, defaults.get(""))


def per_node(
    chain: tuple[ProviderSpec, ...],
    value: Any,
    setting: str,
    parse: Callable[[str, str], T],
    *,
    named_only: bool = False,
) -> dict[str, T]:
    """Read `name=value,...` (by provider or node name) into values by name.

    A bare value without a name (`10`) is for every provider (key ""), unless
    `named_only` (a context window is never the same for all).
    """
    if isinstance(value, Mapping):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = f"{value}"
    names = {*BUILT_IN, *(spec.provider for spec in chain), *(spec.node for spec in chain)}
    found: dict[str, T] = {}
    for item in filter(None, (part.strip() for part in str(value or "").split(","))):
        name, equals, number = item.partition("=")
        name = name.strip() if equals else ""
        if (name or named_only) and name not in names:
            shown = name if equals else item
            raise ConfigError(f"{setting}: unknown name {shown!r}; valid: {sorted(names)}")
        number = number if equals else item
        found[name] = parse(name, number)
    return found
