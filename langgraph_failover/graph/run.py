"""One run's settings: the graph's chain and policy, with what the run's Context changes.

The graph's nodes and edges are fixed when it is built; a run may still narrow the chain
to some of its providers, give a provider another model, or change the timeout and the
failure policy (from Studio's form, say), as far as its deployer granted (`limits.py`).
`Plan.resolve` turns the context into a `Run`, validated with the same rules and messages
as the environment. The entry edge, every provider node and every router read the same
`Run`, so the route a router picks and the circuit a node updates never disagree.

A run's policy is its own: it decides that run's waits and which providers that run
skips, never what the shared circuits record (`Run.shared` does), so no caller can deny
a provider to the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.context import DEFAULT_CONTEXT, FIELDS, OPTIONS, Context
from langgraph_failover.graph.declared import BY_KEYWORD, CAPPED
from langgraph_failover.graph.limits import (
    BLANK,
    check_count,
    check_grants,
    check_name,
    check_options,
)
from langgraph_failover.graph.policy import Policy, load_policy
from langgraph_failover.graph.settings import ProviderSpec, Settings
from langgraph_failover.graph.values import show


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    """What one run uses."""

    route: tuple[str, ...]
    """The nodes this run may call, in chain order."""
    models: Mapping[str, str]
    """Each node's model for this run."""
    keys: Mapping[str, str]
    """Each node's circuit key for this run (provider, URL, model, key hash); "" for the mock."""
    policy: Policy
    """This run's policy: its waits, its turn budget, the circuits it treats as open."""
    timeout: float
    """Seconds allowed per call."""
    shared: Policy
    """The graph's own policy: the only one that changes a shared circuit."""
    shared_timeout: float
    """The graph's own timeout: a call cut sooner says nothing about the provider."""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """The graph's chain as built, and the run every context without settings gets."""

    settings: Settings = dataclasses.field(repr=False)
    default: Run = dataclasses.field(init=False)
    _last: tuple[Context, Run] | None = dataclasses.field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        specs, settings = self.settings.chain, self.settings
        models = {spec.node: spec.model for spec in specs}
        default = Run(route=tuple(models), models=models, keys=self._keys(models),
                      policy=settings.policy, timeout=settings.timeout,
                      shared=settings.policy, shared_timeout=settings.timeout)  # fmt: skip
        object.__setattr__(self, "default", default)  # frozen: computed once, here

    def resolve(self, context: Context) -> Run:
        """The run's settings; raises `ConfigError` naming any bad value or ungranted field."""
        if context is DEFAULT_CONTEXT:
            return self.default  # the common case costs nothing
        last = self._last  # the entry edge, the node and its router resolve one context
        if last is not None and last[0] is context:
            return last[1]
        run = self._resolve(context)
        object.__setattr__(self, "_last", (context, run))  # one slot; a tuple swap is atomic
        return run

    def _resolve(self, context: Context) -> Run:
        given = {name: value for name in FIELDS if (value := getattr(context, name)) not in BLANK}
        check_grants(given, self.settings.run_settings)
        check_options({k: v for k, v in given.items() if k in OPTIONS})
        given = {k: v for k, v in given.items() if k not in OPTIONS}
        base = self.default
        if not given:
            return base
        models = {**base.models, **self._models(given.get("models", {}))}
        for name in CAPPED:
            if name in given:
                given[name] = self._capped(name, given[name])
        policy = load_policy(given, base=base.policy, context=True)
        return dataclasses.replace(
            base,
            route=self._route(given["providers"]) if "providers" in given else base.route,
            models=models,
            keys=base.keys if models == base.models else self._keys(models),
            policy=policy,
            timeout=given.get("timeout", base.timeout),
        )

    def _capped(self, name: str, value: Any) -> float | int:
        """A run's timeout, budget or count: within its bounds, at most the graph's own."""
        parsed = BY_KEYWORD[name].parse(value, f"context {name}")
        own = self.settings.timeout if name == "timeout" else getattr(self.settings.policy, name)
        if parsed > own:
            unit = "" if isinstance(own, int) else " seconds"
            raise ConfigError(
                f"context {name}: at most the graph's own {own:g}{unit}, got {parsed:g}"
            )
        return float(parsed) if isinstance(own, float) else parsed

    def _nodes(self, name: Any, field: str) -> list[ProviderSpec]:
        """The nodes a provider or node name stands for."""
        specs = [s for s in self.settings.chain if name in (s.node, s.provider)]
        if not specs:
            valid = sorted({*(s.node for s in self.settings.chain),
                            *(s.provider for s in self.settings.chain)})  # fmt: skip
            raise ConfigError(f"context {field}: unknown provider {show(name)}; valid: {valid}")
        return specs

    def _route(self, names: Any) -> tuple[str, ...]:
        if isinstance(names, str):
            names = [part.strip() for part in names.split(",")]
        if not isinstance(names, list | tuple):
            raise ConfigError(f"context providers: expected a list of names, got {show(names)}")
        check_count("providers", names)
        names = [check_name("providers", name) for name in names]
        nodes = [spec.node for name in names for spec in self._nodes(name, "providers")]
        chain = [spec.node for spec in self.settings.chain]
        if len(set(nodes)) < len(nodes) or nodes != [n for n in chain if n in nodes]:
            raise ConfigError(
                f"context providers: {list(names)} must name each provider once, in the "
                f"graph's chain order {chain}; the chain's order is fixed when the graph is "
                "built (LLM_PROVIDER, LLM_FALLBACK_PROVIDER)"
            )
        return tuple(nodes)

    def _models(self, given: Any) -> dict[str, str]:
        if not isinstance(given, Mapping):
            raise ConfigError(
                f'context models: expected {{"provider": "model"}}, got {show(given)}'
            )
        check_count("models", given)
        models: dict[str, str] = {}
        for name, model in given.items():
            for spec in self._nodes(check_name("models", name), "models"):
                named = isinstance(model, str) and model.strip()
                if spec.endpoint.type.last_resort or not named:
                    raise ConfigError(
                        f"context models: {show(name)} cannot take the model {show(model)}; "
                        "a model name is a non-empty string, and the mock takes none"
                    )
                models[spec.node] = check_name("models", model)
        return models

    def _keys(self, models: Mapping[str, str]) -> dict[str, str]:
        """Each node's circuit, named by its endpoint (`providers.Endpoint.circuit_key`)."""
        return {s.node: s.endpoint.circuit_key(models[s.node]) for s in self.settings.chain}
