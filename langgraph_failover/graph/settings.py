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
from typing import Any

from pydantic import SecretStr

from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.chain import ProviderSpec, load_chain
from langgraph_failover.graph.declared import BY_KEYWORD
from langgraph_failover.graph.keywords import BUILD_GRAPH, UnknownKeyword
from langgraph_failover.graph.limits import parse_grants
from langgraph_failover.graph.policy import Policy, load_policy
from langgraph_failover.graph.values import show
from langgraph_failover.providers.registry import BUILT_IN_SETTINGS
from langgraph_failover.secrets import url_secrets

__all__ = ["ENV_NAMES", "ProviderSpec", "Settings", "load_settings", "pick", "read_environment"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything `build_graph` needs, validated."""

    chain: tuple[ProviderSpec, ...]
    """The primary first, then the fallbacks in order."""
    timeout: float = BY_KEYWORD["timeout"].default
    """Seconds allowed per provider call (`LLM_FAILOVER_TIMEOUT`)."""
    redis_url: str | None = dataclasses.field(default=None, repr=False)
    """`LLM_FAILOVER_REDIS_URL`: share circuits across workers; `None` keeps them in-process."""
    policy: Policy = dataclasses.field(default_factory=Policy)
    """What to do after each kind of failure."""
    run_settings: frozenset[str] = dataclasses.field(default_factory=lambda: parse_grants(None))
    """`LLM_FAILOVER_RUN_SETTINGS`: the context fields a run may set (`limits.py`)."""
    pacing: bool = True
    """`LLM_FAILOVER_PACING`: pace OpenAI-compatible upstreams by their rate-limit headers."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret these settings hold, masked out of errors whatever its shape.

        Each provider's API key and the credentials of every URL (`user:password@`).
        """
        found = [secret for spec in self.chain for secret in spec.endpoint.secrets]
        return tuple(dict.fromkeys([*found, *url_secrets(self.redis_url)]))


# override keyword -> environment variable: the graph's declared settings, then the
# providers' own (the provider registry's to declare).
ENV_NAMES: Mapping[str, str] = {
    **{keyword: setting.env for keyword, setting in BY_KEYWORD.items()},
    **BUILT_IN_SETTINGS,  # openai_api_key -> OPENAI_API_KEY, ... (providers.registry)
}


def load_settings(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Build `Settings` from `env`, with keyword `overrides` taking precedence.

    Besides `ENV_NAMES`' keywords, `<name>_api_key`, `<name>_base_url` and `<name>_model`
    set those of any provider the chain names (`vllm_base_url=...`), as its variables do.
    """
    _check_keywords(overrides, ())

    def read(keyword: str, name: str) -> Any:
        return pick(overrides.get(keyword), env, name)

    raw = {key: read(key, name) for key, name in ENV_NAMES.items()}
    chain = load_chain(raw, read)
    _check_keywords(overrides, chain)
    return Settings(
        chain=chain,
        timeout=BY_KEYWORD["timeout"].parse(raw["timeout"]),
        redis_url=raw["redis_url"] or None,
        policy=load_policy(raw),
        run_settings=parse_grants(raw["run_settings"]),
        pacing=_switch(BY_KEYWORD["pacing"].parse(raw["pacing"]), "LLM_FAILOVER_PACING"),
    )


def _switch(value: Any, setting: str) -> bool:
    """On (`1`, True) or off (`0`, False); anything else is refused, naming `setting`."""
    text = str(int(value)) if isinstance(value, bool | int) else str(value).strip()
    if text not in ("0", "1"):
        raise ConfigError(f"{setting}: expected 1 (on) or 0 (off), got {show(value)}")
    return text == "1"


def read_environment(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The entries of `env` that `load_settings` may read (to tell two environments apart).

    `ENV_NAMES`' and every provider's own (`VLLM_BASE_URL`...), whichever the chain names.
    """
    return tuple(sorted((k, v) for k, v in env.items() if k in _READ or k.endswith(_PROVIDER_ENV)))


_READ = frozenset(ENV_NAMES.values())
_PROVIDER_ENV = ("_API_KEY", "_BASE_URL", "_MODEL")
# A provider's own setting, before the chain says which providers there are.
_PROVIDER_SETTING = re.compile(r"[a-z][a-z0-9_]*_(api_key|base_url|model)")


def _check_keywords(overrides: Mapping[str, Any], chain: Sequence[ProviderSpec]) -> None:
    """Refuse keywords that set nothing (a provider's only once the chain is known)."""
    own = {k for s in chain for k in s.endpoint.type.settings()}
    unknown = [
        name
        for name in set(overrides) - {*ENV_NAMES, *own}
        if chain or not _PROVIDER_SETTING.fullmatch(name)
    ]
    if unknown:
        raise UnknownKeyword(unknown, {*ENV_NAMES, *own, *BUILD_GRAPH}, "build_graph")


def pick(value: Any, env: Mapping[str, str], name: str) -> Any:
    """A keyword's value if given (None: not given), else the environment's."""
    if value is None:
        return env.get(name, "").strip() or None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(str(v) for v in value)
    return value
