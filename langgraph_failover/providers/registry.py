"""The provider registry: every provider type a chain may name, one entry each.

Built in: `openai`, `groq` (OpenAI-compatible at Groq's URL), `ollama` and `mock`. Any
other name `N` in a chain is an OpenAI-compatible upstream when `N_BASE_URL` is set
(`N_API_KEY` and `N_MODEL` optional): `vllm`, `lmstudio`, `openrouter`... A name that
is neither is refused, naming the variable that would make it one. Adding an
OpenAI-compatible type with defaults of its own is one entry in `BUILT_IN`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from langgraph_failover.errors import ConfigError
from langgraph_failover.providers.entry import Endpoint, ProviderType
from langgraph_failover.providers.mock import mock_client
from langgraph_failover.providers.ollama import chat_ollama
from langgraph_failover.providers.openai_compatible import chat_openai

BUILT_IN: Mapping[str, ProviderType] = {
    entry.name: entry
    for entry in (
        ProviderType(
            name="openai", client=chat_openai, default_model="gpt-4o-mini", key_required=True
        ),
        ProviderType(
            name="groq",
            client=chat_openai,
            default_model="llama-3.1-8b-instant",
            default_base_url="https://api.groq.com/openai/v1",
            key_required=True,
        ),
        ProviderType(
            name="ollama",
            client=chat_ollama,
            client_name="ChatOllama",
            reads=frozenset({"base_url", "model"}),
            default_model="qwen2.5:0.5b",
            default_base_url="http://localhost:11434",
            context_tokens=4096,  # the server's own default, stated so the history fits it
            first_token_timeout=60.0,  # room for a cold load of the model into memory
        ),
        ProviderType(
            name="mock",
            client=mock_client,
            client_name="MockChatModel",
            reads=frozenset(),
            default_model="mock",
            last_resort=True,
        ),
    )
}
"""The built-in provider types, by name."""

BUILT_IN_SETTINGS: Mapping[str, str] = {
    keyword: env for entry in BUILT_IN.values() for keyword, env in entry.settings().items()
}
"""The built-in types' override keywords and environment names (`groq_api_key`...)."""

Read = Callable[[str, str], str | None]
"""Reads one setting: (keyword, environment name) -> its value, keyword first; None: unset."""

# Names the graph uses itself, and "none", which means "no fallback".
_RESERVED = frozenset({"all_failed", "none"})
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def compatible(name: str) -> ProviderType:
    """An OpenAI-compatible upstream named only by its `<NAME>_BASE_URL`.

    It has no default model, and needs no key (local servers take none).
    """
    return ProviderType(name=name, client=chat_openai)


def provider_type(name: str, read: Read, setting: str) -> ProviderType:
    """The type `name` stands for; `ConfigError` naming `setting` if it stands for none."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    if not _NAME.fullmatch(name) or name in _RESERVED:
        raise ConfigError(
            f"{setting}: {name!r} cannot name a provider: use letters, digits, '_' or '-', "
            f"starting with a letter (built in: {', '.join(BUILT_IN)})"
        )
    entry = compatible(name)
    if read(*_setting(entry, "base_url")):
        return entry
    close = difflib.get_close_matches(name, list(BUILT_IN), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"{setting}: unknown provider {name!r}; {hint}valid providers: "
        f"{', '.join(BUILT_IN)}, or any OpenAI-compatible server named by setting "
        f"{entry.env_name('base_url')} (keyword {entry.env_name('base_url').lower()})"
    )


def endpoint(entry: ProviderType, read: Read) -> tuple[Endpoint, str | None]:
    """The configured upstream of a type, and its own model setting (or default)."""
    values = {field: read(*_setting(entry, field)) for field in entry.reads}
    key = values.get("api_key")
    found = Endpoint(
        type=entry,
        base_url=values.get("base_url") or entry.default_base_url,
        api_key=SecretStr(key) if key else None,
    )
    return found, values.get("model") or entry.default_model


def _setting(entry: ProviderType, field: str) -> tuple[str, str]:
    """(keyword, environment name) of one of a type's settings."""
    env = entry.env_name(field)
    return env.lower(), env
