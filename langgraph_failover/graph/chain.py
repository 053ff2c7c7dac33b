"""The failover chain: which providers, in which order, with which models and nodes.

Read from `LLM_PROVIDER`, `LLM_FALLBACK_PROVIDER`, `LLM_MODEL`, `LLM_FALLBACK_MODEL` and
`LLM_FAILOVER_CONTEXT_TOKENS` (or their keywords); what each name stands for, and its
own settings (`<NAME>_MODEL`, URL, key), come from the provider registry.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel

from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.by_name import deadlines, lookup, per_node
from langgraph_failover.providers import (
    Endpoint,
    ProviderType,
    endpoint,
    injected,
    provider_type,
)
from langgraph_failover.providers.registry import Read


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ProviderSpec:
    """One link of the failover chain."""

    provider: str
    """The provider's name (`openai`, `groq`, `vllm`...), as `served_by` records it."""
    model: str
    """The model name sent to that provider."""
    node: str
    """The graph node that calls it: unique and readable in the Studio drawing."""
    endpoint: Endpoint
    """Its type and upstream (URL, key): builds its client, names its circuit."""
    context_tokens: int | None = None
    """The provider's context window; the history sent to it is fitted within it."""
    first_token_timeout: float | None = None
    """Seconds allowed until its first token or tool-call fragment; None: no limit."""
    stall_timeout: float | None = None
    """The longest silence allowed between two chunks once it streams; None: no limit."""
    hedge_after: float | None = None
    """Seconds its first token may take before the run's next provider starts in parallel
    (`nodes/hedge.py`); None: no hedge."""


def load_chain(raw: Mapping[str, Any], read: Read) -> tuple[ProviderSpec, ...]:
    """The chain the settings `raw` (by keyword) describe; `read` reads provider settings."""
    primary = provider_type(_name(raw["provider"] or "openai"), read, "LLM_PROVIDER")
    fallbacks = [
        provider_type(name, read, "LLM_FALLBACK_PROVIDER")
        for name in _fallback_names(raw["fallback_provider"], primary)
    ]
    chain = [primary, *fallbacks]
    if any(entry.last_resort for entry in chain[:-1]):
        raise ConfigError(
            f"the mock never fails, so it must be last in the chain {[e.name for e in chain]}: "
            "providers after it would never be called"
        )
    resolved = {entry.name: endpoint(entry, read) for entry in chain}
    own = {name: model for name, (_, model) in resolved.items()}
    models = [
        _model(primary, raw["model"] or own[primary.name], "LLM_MODEL"),
        *_fallback_models(fallbacks, raw["fallback_model"], own),
    ]
    specs = _windows(_specs([resolved[e.name][0] for e in chain], models), raw["context_tokens"])
    return deadlines(specs, raw["first_token_timeout"], raw["stall_timeout"], raw["hedge_after"])


def with_clients(
    chain: tuple[ProviderSpec, ...], clients: Mapping[str, BaseChatModel]
) -> tuple[ProviderSpec, ...]:
    """The chain with each injected client's own endpoint and model (`models=`).

    Its circuit and masked secrets are then the client's: a Groq client injected for a
    node is not keyed, or skipped, by OpenAI's environment.
    """
    specs = []
    for spec in chain:
        client = clients.get(spec.node)
        if client is not None:
            found, model = injected(spec.endpoint.type, client)
            spec = dataclasses.replace(spec, endpoint=found, model=model or spec.model)
        specs.append(spec)
    return tuple(specs)


def _name(value: str) -> str:
    return value.strip().lower()


def _fallback_names(value: str | None, primary: ProviderType) -> list[str]:
    if value is None:
        # The default chain after whichever primary: never the primary a second time.
        return [p for p in ("ollama", "mock") if p != primary.name and not primary.last_resort]
    if value.strip().lower() == "none":
        return []
    names = [_name(part) for part in value.split(",")]
    if "" in names:
        raise ConfigError(f"LLM_FALLBACK_PROVIDER: empty entry in {value!r}")
    return names


def _model(entry: ProviderType, model: str | None, setting: str) -> str:
    """The model a link gets; a type with no default must be told one."""
    if not model:
        raise ConfigError(
            f"{setting}: no model for {entry.name}, which has no default: set "
            f"{entry.env_name('model')} (or name it in LLM_MODEL / LLM_FALLBACK_MODEL)"
        )
    return model


def _fallback_models(
    fallbacks: Sequence[ProviderType], value: str | None, own: Mapping[str, str | None]
) -> list[str]:
    """Give each fallback its model; the mock needs none, so values skip it.

    Where `LLM_FALLBACK_MODEL` names none, the provider's own `<NAME>_MODEL` (or its
    default) fills in.
    """
    names = [entry.name for entry in fallbacks]
    values = [v.strip() for v in value.split(",")] if value else []
    real = [i for i, entry in enumerate(fallbacks) if not entry.last_resort]
    if len(values) == len(fallbacks) and len(values) > len(real):
        slots = list(range(len(fallbacks)))  # one value per entry, the mock's included
    elif len(values) <= len(real):
        slots = real[: len(values)]
    else:
        raise ConfigError(
            f"LLM_FALLBACK_MODEL: {len(values)} models {values} for the fallback chain "
            f"{names}, which takes at most {len(fallbacks)}"
        )
    models: list[str | None] = [own[name] for name in names]
    for slot, given in zip(slots, values, strict=True):
        if fallbacks[slot].last_resort and given not in ("", names[slot]):
            raise ConfigError(
                f"LLM_FALLBACK_MODEL: {given!r} would go to the {names[slot]} in the chain "
                f"{names}, and the {names[slot]} takes no model; leave its place empty"
            )
        if given and not fallbacks[slot].last_resort:
            models[slot] = given
    return [_model(e, m, "LLM_FALLBACK_MODEL") for e, m in zip(fallbacks, models, strict=True)]


def _specs(endpoints: Sequence[Endpoint], models: Sequence[str]) -> tuple[ProviderSpec, ...]:
    names = [found.name for found in endpoints]
    specs: list[ProviderSpec] = []
    for index, (found, model) in enumerate(zip(endpoints, models, strict=True)):
        node = found.name
        if names.count(found.name) > 1:
            # the same provider twice (e.g. a cheaper OpenAI model first): name by model
            node = f"{node}_{re.sub(r'[^A-Za-z0-9]+', '_', model).strip('_')}"
            if any(s.node == node for s in specs):
                node = f"{node}_{index + 1}"
        specs.append(ProviderSpec(provider=found.name, model=model, node=node, endpoint=found))
    return tuple(specs)


def _windows(chain: tuple[ProviderSpec, ...], value: Any) -> tuple[ProviderSpec, ...]:
    """Apply `ollama=4096,openai_gpt_4_1_nano=16000` (by provider or node) to the chain."""
    setting = "LLM_FAILOVER_CONTEXT_TOKENS"

    def tokens(name: str, number: str) -> int:
        if not number.strip().isdigit() or int(number) < 256:
            raise ConfigError(
                f"{setting}: expected {name}=<tokens, 256 or more>, got {(name + '=' + number)!r}"
            )
        return int(number)

    found = per_node(chain, value, setting, tokens, named_only=True)
    defaults = {s.provider: s.endpoint.type.context_tokens for s in chain}  # types' own
    return tuple(
        dataclasses.replace(spec, context_tokens=lookup(spec, found, defaults)) for spec in chain
    )
