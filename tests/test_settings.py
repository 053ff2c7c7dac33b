"""Settings: environment names, overrides, and the errors bad values get."""

from __future__ import annotations

import pytest

from langgraph_failover import ConfigError, build_graph
from langgraph_failover.graph.settings import load_settings


def chain_of(env: dict[str, str], **overrides: object) -> list[tuple[str, str, str]]:
    """The chain as (provider, model, node) triples."""
    settings = load_settings(env, **overrides)
    return [(s.provider, s.model, s.node) for s in settings.chain]


def test_defaults() -> None:
    """With an empty environment the chain is openai -> ollama -> mock with default models."""
    settings = load_settings({})
    assert chain_of({}) == [
        ("openai", "gpt-4o-mini", "openai"),
        ("ollama", "qwen2.5:0.5b", "ollama"),
        ("mock", "mock", "mock"),
    ]
    assert settings.timeout == 30.0
    openai, ollama, _ = (spec.endpoint for spec in settings.chain)
    assert ollama.base_url == "http://localhost:11434"
    assert openai.base_url is None
    assert openai.api_key is None


def test_environment_names() -> None:
    """Every documented variable is read, case-insensitively for provider names."""
    env = {
        "LLM_PROVIDER": "Ollama",
        "LLM_MODEL": "llama3.2",
        "LLM_FALLBACK_PROVIDER": "openai, mock",
        "LLM_FALLBACK_MODEL": "gpt-4.1-nano",
        "LLM_FAILOVER_TIMEOUT": "2.5",
        "OPENAI_API_KEY": "sk-env",
        "OPENAI_BASE_URL": "http://gw/v1",
        "OLLAMA_BASE_URL": "http://ollama:11434",
    }
    settings = load_settings(env)
    assert chain_of(env) == [
        ("ollama", "llama3.2", "ollama"),
        ("openai", "gpt-4.1-nano", "openai"),
        ("mock", "mock", "mock"),
    ]
    assert settings.timeout == 2.5
    ollama, openai, _ = (spec.endpoint for spec in settings.chain)
    assert openai.base_url == "http://gw/v1"
    assert ollama.base_url == "http://ollama:11434"
    assert openai.api_key is not None
    assert openai.api_key.get_secret_value() == "sk-env"


def test_keyword_overrides_environment() -> None:
    """Keyword arguments win over the environment; sequences are accepted for chains."""
    env = {"LLM_PROVIDER": "ollama", "LLM_FAILOVER_TIMEOUT": "9"}
    settings = load_settings(env, provider="openai", fallback_provider=["mock"], timeout=1)
    assert [s.provider for s in settings.chain] == ["openai", "mock"]
    assert settings.timeout == 1.0


@pytest.mark.parametrize(
    ("primary", "chain"),
    [("ollama", ["ollama", "mock"]), ("mock", ["mock"]), ("openai", ["openai", "ollama", "mock"])],
)
def test_default_chain_never_repeats_the_primary(primary: str, chain: list[str]) -> None:
    """With LLM_FALLBACK_PROVIDER unset, the default chain follows whichever primary."""
    assert [p for p, _, _ in chain_of({"LLM_PROVIDER": primary})] == chain


def test_context_windows_by_provider_or_node() -> None:
    """Ollama gets 4096 tokens by default; a provider or a node name may set its own."""
    env = {"LLM_FALLBACK_PROVIDER": "openai,ollama,mock", "LLM_FALLBACK_MODEL": "gpt-4.1-nano"}
    assert [s.context_tokens for s in load_settings(env).chain] == [None, None, 4096, None]
    env["LLM_FAILOVER_CONTEXT_TOKENS"] = "ollama=2048, openai_gpt_4_1_nano=16000"
    assert [s.context_tokens for s in load_settings(env).chain] == [None, 16000, 2048, None]


def test_none_disables_fallback() -> None:
    """LLM_FALLBACK_PROVIDER=none leaves the primary alone."""
    assert chain_of({"LLM_FALLBACK_PROVIDER": "none"}) == [("openai", "gpt-4o-mini", "openai")]


def test_same_provider_twice_gets_readable_unique_nodes() -> None:
    """A cheaper OpenAI model as first fallback gets its own node, named by model."""
    env = {"LLM_FALLBACK_PROVIDER": "openai,ollama,mock", "LLM_FALLBACK_MODEL": "gpt-4.1-nano"}
    assert chain_of(env) == [
        ("openai", "gpt-4o-mini", "openai_gpt_4o_mini"),
        ("openai", "gpt-4.1-nano", "openai_gpt_4_1_nano"),
        ("ollama", "qwen2.5:0.5b", "ollama"),
        ("mock", "mock", "mock"),
    ]


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        ("llama3", ["llama3", "gpt-4o-mini", "mock"]),
        ("llama3,gpt-4.1", ["llama3", "gpt-4.1", "mock"]),
        ("llama3,gpt-4.1,", ["llama3", "gpt-4.1", "mock"]),
        (",gpt-4.1", ["qwen2.5:0.5b", "gpt-4.1", "mock"]),
    ],
)
def test_fallback_models_map_onto_the_chain(models: str, expected: list[str]) -> None:
    """Fallback models go to the chain's providers in order; the mock needs none."""
    env = {"LLM_FALLBACK_PROVIDER": "ollama,openai,mock", "LLM_FALLBACK_MODEL": models}
    assert [m for _, m, _ in chain_of(env)[1:]] == expected


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ({"LLM_PROVIDER": "opneai"}, ["LLM_PROVIDER", "'opneai'", "openai, groq, ollama, mock"]),
        ({"LLM_FALLBACK_PROVIDER": "ollama,grok"}, ["LLM_FALLBACK_PROVIDER", "'grok'", "mock"]),
        ({"LLM_FALLBACK_PROVIDER": "ollama,,mock"}, ["LLM_FALLBACK_PROVIDER", "empty"]),
        ({"LLM_FAILOVER_TIMEOUT": "soon"}, ["LLM_FAILOVER_TIMEOUT", "'soon'"]),
        ({"LLM_FAILOVER_TIMEOUT": "-1"}, ["LLM_FAILOVER_TIMEOUT", "positive"]),
        ({"LLM_FALLBACK_MODEL": "a,b,c"}, ["LLM_FALLBACK_MODEL", "at most 2"]),
        ({"LLM_FALLBACK_PROVIDER": "mock,ollama"}, ["mock", "last"]),
        ({"LLM_FALLBACK_MODEL": "llama3,gpt-4.1"}, ["'gpt-4.1' would go to the mock"]),
        ({"LLM_FAILOVER_CONTEXT_TOKENS": "olama=4096"}, ["CONTEXT_TOKENS", "'olama'", "ollama"]),
        ({"LLM_FAILOVER_CONTEXT_TOKENS": "ollama=big"}, ["CONTEXT_TOKENS", "ollama=big"]),
    ],
)
def test_bad_values_are_refused_with_clear_messages(
    env: dict[str, str], needles: list[str]
) -> None:
    """Each bad value names the setting, the value and what would be valid."""
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    for needle in needles:
        assert needle in str(caught.value)


def test_unknown_override_names_valid_ones() -> None:
    """A keyword near none is refused and the valid keywords are listed."""
    with pytest.raises(ConfigError, match=r"unknown setting 'xyzzy' for build_graph; valid: ch"):
        load_settings({}, xyzzy="mock")


def test_build_graph_refuses_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """build_graph reads the environment when called and refuses a bad provider there."""
    monkeypatch.setenv("LLM_PROVIDER", "anthropic")
    with pytest.raises(ConfigError, match="'anthropic'; valid providers: openai, groq, ollama"):
        build_graph()


def test_api_key_never_printed() -> None:
    """The settings' repr cannot leak the API key."""
    settings = load_settings({"OPENAI_API_KEY": "sk-visible-canary-123"})
    assert "canary" not in repr(settings)
