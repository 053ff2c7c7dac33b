"""One run's settings: the graph's chain and policy, with what the run's Context changes.

The graph's nodes and edges are fixed when it is built; a run may still narrow the chain
to some of its providers, give a provider another model, or change the timeout and the
failure policy (from Studio's form, say). `Plan.resolve` turns the context into a `Run`,
validated with the same rules and messages as the environment. The entry edge, every
provider node and every router read the same `Run`, so the route a router picks and the
circuit a node updates never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from llm_failover.errors import ConfigError
from llm_failover.graph.context import DEFAULT_CONTEXT, SETTINGS, Context
from llm_failover.graph.policy import POLICY_ENV, Policy, load_policy, seconds
from llm_failover.graph.settings import ProviderSpec, Settings
from llm_failover.health.circuit import circuit_key


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
    timeout: float
    """Seconds allowed per call; also how long a half-open probe claim lasts."""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """The graph's chain as built, and the run every context without settings gets."""

    settings: Settings = dataclasses.field(repr=False)
    default: Run = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        specs = self.settings.chain
        models = {spec.node: spec.model for spec in specs}
        default = Run(route=tuple(models), models=models, keys=self._keys(models),
                      policy=self.settings.policy, timeout=self.settings.timeout)  # fmt: skip
        object.__setattr__(self, "default", default)  # frozen: computed once, here

    def resolve(self, context: Context) -> Run:
        """The run's settings; raises `ConfigError` naming any bad value."""
        if context is DEFAULT_CONTEXT:
            return self.default  # the common case costs nothing
        given = {name: value for name in SETTINGS
                 if (value := getattr(context, name)) not in (None, "", [], {})}  # fmt: skip
        if not given:
            return self.default
        base = self.default
        models = {**base.models, **self._models(given.get("models", {}))}
        policy = load_policy(given, base=base.policy, names=_CONTEXT_NAMES)
        timeout = seconds(given["timeout"], "context timeout") if "timeout" in given else None
        return Run(
            route=self._route(given["providers"]) if "providers" in given else base.route,
            models=models,
            keys=base.keys if models == base.models else self._keys(models),
            policy=policy,
            timeout=base.timeout if timeout is None else timeout,
        )

    def _nodes(self, name: Any, field: str) -> list[ProviderSpec]:
        """The nodes a provider or node name stands for."""
        specs = [s for s in self.settings.chain if name in (s.node, s.provider)]
        if not specs:
            valid = sorted({*(s.node for s in self.settings.chain),
                            *(s.provider for s in self.settings.chain)})  # fmt: skip
            raise ConfigError(f"context {field}: unknown provider {name!r}; valid: {valid}")
        return specs

    def _route(self, names: Any) -> tuple[str, ...]:
        if isinstance(names, str):
            names = [part.strip() for part in names.split(",")]
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
            raise ConfigError(f'context models: expected {{"provider": "model"}}, got {given!r}')
        models: dict[str, str] = {}
        for name, model in given.items():
            for spec in self._nodes(name, "models"):
                if spec.provider == "mock" or not isinstance(model, str) or not model.strip():
                    raise ConfigError(
                        f"context models: {name!r} cannot take the model {model!r}; "
                        "a model name is a non-empty string, and the mock takes none"
                    )
                models[spec.node] = model.strip()
        return models

    def _keys(self, models: Mapping[str, str]) -> dict[str, str]:
        settings, keys = self.settings, {}
        secret = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        for spec in settings.chain:
            model = models[spec.node]
            if spec.provider == "openai":
                keys[spec.node] = circuit_key("openai", settings.openai_base_url, model, secret)
            elif spec.provider == "ollama":
                keys[spec.node] = circuit_key("ollama", settings.ollama_base_url, model, None)
            else:
                keys[spec.node] = ""
        return keys


_CONTEXT_NAMES = {name: f"context {name}" for name in POLICY_ENV}
