"""Settings: read from the environment in one typed place, validated at build time.

`load_settings(env, **overrides)` is the only reader of the environment. Keyword
arguments override environment variables; every bad value is refused here, with a message
that names the setting, the bad value and what would be valid, so a misconfigured app
fails when it builds the graph, not in the middle of a user's conversation.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast, get_args

from pydantic import SecretStr

from llm_failover.errors import ConfigError
from llm_failover.graph.declared import BY_KEYWORD
from llm_failover.graph.limits import parse_grants
from llm_failover.graph.policy import Policy, load_policy
from llm_failover.secrets import url_secrets

Provider = Literal["openai", "ollama", "mock"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
DEFAULT_MODELS: Mapping[str, str] = {
    "openai": "gpt-4o-mini",
    "ollama": "qwen2.5:0.5b",
    "mock": "mock",
}


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ProviderSpec:
    """One link of the failover chain."""

    provider: Provider
    """Which client answers: `openai` (any OpenAI-compatible server), `ollama` or `mock`."""
    model: str
    """The model name sent to that provider."""
    node: str
    """The graph node that calls it: unique and readable in the Studio drawing."""
    context_tokens: int | None = None
    """The provider's context window; the history sent to it is fitted within it."""


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything `build_graph` needs, validated."""

    chain: tuple[ProviderSpec, ...]
    """The primary first, then the fallbacks in order."""
    timeout: float = BY_KEYWORD["timeout"].default
    """Seconds allowed per provider call (`LLM_FAILOVER_TIMEOUT`)."""
    openai_base_url: str | None = dataclasses.field(default=None, repr=False)
    """`OPENAI_BASE_URL`: any OpenAI-compatible server; `None` means api.openai.com.
    May hold `user:password@`: the clients send it as basic auth (see `secrets`)."""
    ollama_base_url: str = dataclasses.field(default="http://localhost:11434", repr=False)
    """`OLLAMA_BASE_URL`, which may hold credentials as well."""
    openai_api_key: SecretStr | None = dataclasses.field(default=None, repr=False)
    """`OPENAI_API_KEY`; kept as a SecretStr so it never prints, and handed only to the SDK."""
    redis_url: str | None = dataclasses.field(default=None, repr=False)
    """`LLM_FAILOVER_REDIS_URL`: share circuits across workers; `None` keeps them in-process."""
    policy: Policy = dataclasses.field(default_factory=Policy)
    """What to do after each kind of failure."""
    run_settings: frozenset[str] = dataclasses.field(default_factory=lambda: parse_grants(None))
    """`LLM_FAILOVER_RUN_SETTINGS`: the context fields a run may set (`limits.py`)."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret these settings hold, masked out of errors whatever its shape.

        The API key and the credentials of every URL (`user:password@`).
        """
        key = (self.openai_api_key.get_secret_value(),) if self.openai_api_key else ()
        urls = (self.openai_base_url, self.ollama_base_url, self.redis_url)
        return key + tuple(secret for url in urls for secret in url_secrets(url))


# override keyword -> environment variable: the graph's declared settings, then the
# providers' own (the provider registry's to declare).
ENV_NAMES: Mapping[str, str] = {
    **{keyword: setting.env for keyword, setting in BY_KEYWORD.items()},
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "ollama_base_url": "OLLAMA_BASE_URL",
}


def load_settings(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Build `Settings` from `env`, with keyword `overrides` taking precedence."""
    unknown = sorted(set(overrides) - set(ENV_NAMES))
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(ENV_NAMES)}")
    raw = {key: _pick(key, env, overrides) for key in ENV_NAMES}
    primary = _provider(raw["provider"] or BY_KEYWORD["provider"].default, "LLM_PROVIDER")
    fallbacks = _fallback_providers(raw["fallback_provider"], primary)
    models = [raw["model"] or DEFAULT_MODELS[primary], *_fallback_models(fallbacks, raw)]
    key = raw["openai_api_key"]
    return Settings(
        chain=_windows(_chain([primary, *fallbacks], models), raw["context_tokens"]),
        timeout=BY_KEYWORD["timeout"].parse(raw["timeout"]),
        openai_base_url=raw["openai_base_url"] or None,
        ollama_base_url=raw["ollama_base_url"] or "http://localhost:11434",
        openai_api_key=SecretStr(key) if key else None,
        redis_url=raw["redis_url"] or None,
        policy=load_policy(raw),
        run_settings=parse_grants(raw["run_settings"]),
    )


def _windows(chain: tuple[ProviderSpec, ...], value: Any) -> tuple[ProviderSpec, ...]:
    """Apply `ollama=4096,openai_gpt_4_1_nano=16000` (by provider or node) to the chain.

    The declared default's windows come first, so a value adds to them or replaces them.
    """
    declared = BY_KEYWORD["context_tokens"]
    setting, limits = declared.env, dict[str, int]()
    if isinstance(value, Mapping):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    value = f"{declared.default},{value or ''}"
    names = {*PROVIDERS, *(spec.node for spec in chain)}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, number = item.partition("=")
        if name.strip() not in names:
            raise ConfigError(f"{setting}: unknown name {name.strip()!r}; valid: {sorted(names)}")
        if not number.strip().isdigit() or int(number) < 256:
            raise ConfigError(
                f"{setting}: expected {name.strip()}=<tokens, 256 or more>, got {item!r}"
            )
        limits[name.strip()] = int(number)
    return tuple(
        dataclasses.replace(spec, context_tokens=limits.get(spec.node, limits.get(spec.provider)))
        for spec in chain
    )


def _pick(key: str, env: Mapping[str, str], overrides: Mapping[str, Any]) -> Any:
    value = overrides.get(key)
    if value is None:
        return env.get(ENV_NAMES[key], "").strip() or None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(str(v) for v in value)
    return value


def _provider(value: str, setting: str) -> Provider:
    name = value.strip().lower()
    if name not in PROVIDERS:
        raise ConfigError(
            f"{setting}: unknown provider {value!r}; valid providers: {', '.join(PROVIDERS)}"
        )
    return cast(Provider, name)


def _fallback_providers(value: str | None, primary: Provider) -> list[Provider]:
    if value is None:
        # The default chain after whichever primary: never the primary a second time.
        return [p for p in ("ollama", "mock") if p != primary and primary != "mock"]
    if value.strip().lower() == "none":
        return []
    names = [part.strip() for part in value.split(",")]
    if "" in names:
        raise ConfigError(f"LLM_FALLBACK_PROVIDER: empty entry in {value!r}")
    return [_provider(name, "LLM_FALLBACK_PROVIDER") for name in names]


def _fallback_models(fallbacks: Sequence[Provider], raw: Mapping[str, Any]) -> list[str]:
    """Give each fallback its model; the mock needs none, so values skip it."""
    values = [v.strip() for v in raw["fallback_model"].split(",")] if raw["fallback_model"] else []
    real = [i for i, p in enumerate(fallbacks) if p != "mock"]
    if len(values) == len(fallbacks) and len(values) > len(real):
        slots = list(range(len(fallbacks)))  # one value per entry, the mock's included
    elif len(values) <= len(real):
        slots = real[: len(values)]
    else:
        raise ConfigError(
            f"LLM_FALLBACK_MODEL: {len(values)} models {values} for the fallback chain "
            f"{list(fallbacks)}, which takes at most {len(fallbacks)}"
        )
    models = [DEFAULT_MODELS[p] for p in fallbacks]
    for slot, value in zip(slots, values, strict=True):
        if fallbacks[slot] == "mock" and value not in ("", "mock"):
            raise ConfigError(
                f"LLM_FALLBACK_MODEL: {value!r} would go to the mock in the chain "
                f"{list(fallbacks)}, and the mock takes no model; leave its place empty"
            )
        if value and fallbacks[slot] != "mock":
            models[slot] = value
    return models


def _chain(providers: Sequence[Provider], models: Sequence[str]) -> tuple[ProviderSpec, ...]:
    if "mock" in providers[:-1]:
        raise ConfigError(
            f"the mock never fails, so it must be last in the chain {list(providers)}: "
            "providers after it would never be called"
        )
    pairs = list(zip(providers, models, strict=True))
    specs: list[ProviderSpec] = []
    for index, (provider, model) in enumerate(pairs):
        node: str = provider
        if sum(1 for p, _ in pairs if p == provider) > 1:
            # the same provider twice (e.g. a cheaper OpenAI model first): name by model
            node = f"{provider}_{re.sub(r'[^A-Za-z0-9]+', '_', model).strip('_')}"
            if any(s.node == node for s in specs):
                node = f"{node}_{index + 1}"
        specs.append(ProviderSpec(provider=provider, model=model, node=node))
    return tuple(specs)
