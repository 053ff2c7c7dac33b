"""A provider type (one entry of the registry) and the endpoint it resolves to.

A `ProviderType` says what a kind of upstream is: which environment names it reads
(`<NAME>_API_KEY`, `<NAME>_BASE_URL`, `<NAME>_MODEL`), its defaults, how its client is
built, and whether it is the last resort. An `Endpoint` is one configured upstream of
that type, URL and key included: it builds the client, names the circuit (provider, URL
without credentials, model, key hash) and lists the secrets to mask. A client an app
injects gets its endpoint from its own attributes (`injected`), never from another
provider's environment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.secrets import url_secrets

FIELDS = ("api_key", "base_url", "model")
"""The per-provider settings, as `<NAME>_API_KEY`, `<NAME>_BASE_URL`, `<NAME>_MODEL`."""


class ClientBuilder(Protocol):
    """Builds a provider's client for one model; it makes no request yet."""

    def __call__(
        self, endpoint: Endpoint, model: str, *, timeout: float, context_tokens: int | None
    ) -> BaseChatModel:
        """The client for `model` at `endpoint`, with the graph's per-call timeout."""
        ...


def env_prefix(name: str) -> str:
    """`lm-studio` -> `LM_STUDIO`: upper-cased, each non-alphanumeric as `_`."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ProviderType:
    """What a provider type is: one entry of the registry."""

    name: str
    """Its name in a chain (`LLM_PROVIDER=groq`) and in `served_by`."""
    client: ClientBuilder
    """How its client is built (once per node, when the graph is built)."""
    client_name: str = "ChatOpenAI"
    """The LangChain class `client` builds, for people (the docs' providers table)."""
    reads: frozenset[str] = frozenset(FIELDS)
    """Which of its environment names it reads (see `FIELDS`)."""
    default_model: str | None = None
    """The model when none is named; None: one must be (`<NAME>_MODEL`)."""
    default_base_url: str | None = None
    """The server when `<NAME>_BASE_URL` is unset; None: the client's own default."""
    key_required: bool = False
    """Without a key its node makes no request and records `not_configured`."""
    context_tokens: int | None = None
    """Its context window when `LLM_FAILOVER_CONTEXT_TOKENS` names none."""
    first_token_timeout: float = 10.0
    """Seconds to its first token when `LLM_FAILOVER_FIRST_TOKEN_TIMEOUT` names none."""
    stall_timeout: float = 15.0
    """The longest silence mid-stream when `LLM_FAILOVER_STALL_TIMEOUT` names none."""
    last_resort: bool = False
    """It never fails (the mock): last in a chain, no circuit or deadline, no model to
    choose, and its answers are `degraded`."""

    def env_name(self, field: str) -> str:
        """The environment variable of one of its `FIELDS`: `GROQ_API_KEY`."""
        return f"{env_prefix(self.name)}_{field.upper()}"

    def settings(self) -> Mapping[str, str]:
        """Its override keywords and their variables: `{"groq_api_key": "GROQ_API_KEY"}`."""
        return {self.env_name(f).lower(): self.env_name(f) for f in FIELDS if f in self.reads}


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Endpoint:
    """One upstream of a provider type: where its requests go and with which key."""

    type: ProviderType
    base_url: str | None = dataclasses.field(default=None, repr=False)
    """May hold `user:password@`: the clients send it as basic auth (see `secrets`)."""
    api_key: SecretStr | None = dataclasses.field(default=None, repr=False)
    """Kept as a SecretStr so it never prints, and handed only to the SDK."""

    @property
    def name(self) -> str:
        """The provider's name, as attempts and `served_by` record it."""
        return self.type.name

    def circuit_key(self, model: str) -> str:
        """The circuit `model` at this upstream shares ("" for the last resort: none)."""
        if self.type.last_resort:
            return ""
        key = self.api_key.get_secret_value() if self.api_key else None
        return circuit_key(self.name, self.base_url, model, key)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Its key and its URL's credentials, to mask out of any error text."""
        key = (self.api_key.get_secret_value(),) if self.api_key else ()
        return key + url_secrets(self.base_url)

    @property
    def missing(self) -> str | None:
        """Why no request can be made (no key where one is required), or None."""
        if self.type.key_required and self.api_key is None:
            return f"no API key is configured ({self.type.env_name('api_key')})"
        return None

    def client(
        self, model: str, *, timeout: float, context_tokens: int | None
    ) -> BaseChatModel | None:
        """Its client for `model`, or None when it is not configured (`missing`)."""
        if self.missing:
            return None
        return self.type.client(self, model, timeout=timeout, context_tokens=context_tokens)


# Public attributes that name a client's upstream, in the order they are tried:
# ChatOpenAI, ChatGroq and similar, ChatOllama and most others.
_URL_ATTRIBUTES = ("openai_api_base", "groq_api_base", "base_url", "api_base")
_KEY_ATTRIBUTES = ("openai_api_key", "groq_api_key", "api_key")
_MODEL_ATTRIBUTES = ("model_name", "model")


def injected(provider: ProviderType, client: BaseChatModel) -> tuple[Endpoint, str | None]:
    """The endpoint and model of a client an app built itself, read from the client.

    A client with no URL attribute at all is told apart by its class instead, so it
    never shares a circuit with the upstream the environment configures for its node.
    """
    has_url, url = _attribute(client, _URL_ATTRIBUTES)
    _, key = _attribute(client, _KEY_ATTRIBUTES)
    _, model = _attribute(client, _MODEL_ATTRIBUTES)
    if not has_url:
        url = type(client).__qualname__
    secret = SecretStr(key) if isinstance(key, str) else key
    return Endpoint(
        type=provider,
        base_url=url if isinstance(url, str) else None,
        api_key=secret if isinstance(secret, SecretStr) else None,  # not a key callback
    ), model if isinstance(model, str) else None


def _attribute(client: object, names: tuple[str, ...]) -> tuple[bool, object]:
    """Whether the client has one of `names`, and the first one's value."""
    for name in names:
        if hasattr(client, name):
            return True, getattr(client, name)
    return False, None
