"""The provider registry: built-in types, OpenAI-compatible upstreams by name, what each reads."""

from __future__ import annotations

import pytest
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from langgraph_failover import ConfigError, MockChatModel
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.providers import BUILT_IN, injected


@pytest.mark.parametrize(
    ("name", "env", "model", "url", "key_required", "last_resort"),
    [
        ("openai", ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"], "gpt-4o-mini",
         None, True, False),
        ("groq", ["GROQ_API_KEY", "GROQ_BASE_URL", "GROQ_MODEL"], "llama-3.1-8b-instant",
         "https://api.groq.com/openai/v1", True, False),
        ("ollama", ["OLLAMA_BASE_URL", "OLLAMA_MODEL"], "qwen2.5:0.5b",
         "http://localhost:11434", False, False),
        ("mock", [], "mock", None, False, True),
    ],
)  # fmt: skip
def test_built_in_entries(
    name: str, env: list[str], model: str, url: str | None, key_required: bool, last_resort: bool
) -> None:
    """Each built-in type reads its own variables and has its own defaults."""
    entry = BUILT_IN[name]
    assert sorted(entry.settings().values()) == sorted(env)
    assert sorted(entry.settings()) == sorted(e.lower() for e in env)  # keywords mirror them
    assert (entry.default_model, entry.default_base_url) == (model, url)
    assert (entry.key_required, entry.last_resort) == (key_required, last_resort)


def test_groq_is_configured_by_its_own_variables_only() -> None:
    """Groq gets Groq's key, URL and model, never OpenAI's, and needs no base URL set."""
    env = {"LLM_PROVIDER": "groq", "GROQ_API_KEY": "gsk_groq", "OPENAI_API_KEY": "sk-openai",
           "OPENAI_BASE_URL": "http://openai.invalid/v1", "OPENAI_MODEL": "gpt-4.1"}  # fmt: skip
    groq = load_settings(env).chain[0]
    assert (groq.provider, groq.node, groq.model) == ("groq", "groq", "llama-3.1-8b-instant")
    assert groq.endpoint.base_url == "https://api.groq.com/openai/v1"
    assert groq.endpoint.api_key is not None
    assert groq.endpoint.api_key.get_secret_value() == "gsk_groq"
    env["GROQ_BASE_URL"] = "http://groq.internal/v1"
    assert load_settings(env).chain[0].endpoint.base_url == "http://groq.internal/v1"


def test_any_name_with_a_base_url_is_an_openai_compatible_upstream() -> None:
    """`vllm` is a provider once VLLM_BASE_URL is set; its key and model are its own."""
    env = {"LLM_FALLBACK_PROVIDER": "vllm,lm-studio,mock", "VLLM_BASE_URL": "http://gpu:8000/v1",
           "VLLM_MODEL": "qwen3", "LM_STUDIO_BASE_URL": "http://desk:1234/v1",
           "LM_STUDIO_MODEL": "gemma", "LM_STUDIO_API_KEY": "lm-key"}  # fmt: skip
    _, vllm, studio, _ = load_settings(env).chain
    assert (vllm.provider, vllm.model) == ("vllm", "qwen3")
    assert vllm.endpoint.base_url == "http://gpu:8000/v1"
    assert vllm.endpoint.api_key is None and vllm.endpoint.missing is None  # a key is optional
    assert (studio.node, studio.model) == ("lm-studio", "gemma")
    assert studio.endpoint.secrets == ("lm-key",)


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ({"LLM_PROVIDER": "olama"},
         ["LLM_PROVIDER", "'olama'", "OLAMA_BASE_URL", "did you mean 'ollama'",
          "openai, groq, ollama, mock"]),
        ({"LLM_FALLBACK_PROVIDER": "vllm,mock"}, ["LLM_FALLBACK_PROVIDER", "VLLM_BASE_URL"]),
        ({"LLM_FALLBACK_PROVIDER": "vllm,mock", "VLLM_BASE_URL": "http://gpu/v1"},
         ["no model for vllm", "VLLM_MODEL"]),
        ({"LLM_FALLBACK_PROVIDER": "all_failed", "ALL_FAILED_BASE_URL": "http://x/v1"},
         ["'all_failed' cannot name a provider"]),
        ({"LLM_PROVIDER": "my gateway"}, ["'my gateway' cannot name a provider"]),
        ({"LLM_FALLBACK_PROVIDER": "groq,mock", "LLM_FALLBACK_MODEL": ",x"},
         ["'x' would go to the mock"]),
    ],
)  # fmt: skip
def test_names_that_stand_for_nothing_are_refused(env: dict[str, str], needles: list[str]) -> None:
    """A typo or an unconfigured name fails at build time, naming what would fix it."""
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    for needle in needles:
        assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("env", "models"),
    [
        ({"OPENAI_MODEL": "gpt-4.1", "OLLAMA_MODEL": "llama3.2"}, ["gpt-4.1", "llama3.2"]),
        ({"OPENAI_MODEL": "gpt-4.1", "LLM_MODEL": "gpt-5"}, ["gpt-5", "qwen2.5:0.5b"]),
        ({"OLLAMA_MODEL": "llama3.2", "LLM_FALLBACK_MODEL": "phi4"}, ["gpt-4o-mini", "phi4"]),
        ({"LLM_FALLBACK_PROVIDER": "groq,ollama,mock", "GROQ_MODEL": "llama-3.3-70b",
          "LLM_FALLBACK_MODEL": ",gemma3"}, ["gpt-4o-mini", "llama-3.3-70b", "gemma3"]),
    ],
)  # fmt: skip
def test_per_provider_models_fill_in(env: dict[str, str], models: list[str]) -> None:
    """`<NAME>_MODEL` gives a provider its model where LLM_MODEL / LLM_FALLBACK_MODEL name none."""
    assert [s.model for s in load_settings(env).chain][:-1] == models


def test_provider_keywords_follow_the_variables() -> None:
    """`groq_api_key=`, `vllm_base_url=`... set what the variables set, keyword first."""
    settings = load_settings(
        {"GROQ_API_KEY": "gsk_env"},
        provider="groq",
        fallback_provider="vllm,mock",
        groq_api_key="gsk_keyword",
        vllm_base_url="http://gpu:8000/v1",
        vllm_model="qwen3",
    )
    groq, vllm, _ = settings.chain
    assert groq.endpoint.api_key is not None
    assert groq.endpoint.api_key.get_secret_value() == "gsk_keyword"
    assert (vllm.endpoint.base_url, vllm.model) == ("http://gpu:8000/v1", "qwen3")
    assert "gsk_keyword" in settings.secrets and "gsk_env" not in settings.secrets
    with pytest.raises(ConfigError, match=r"'vllm_base_url' .*no provider 'vllm' in the chain"):
        load_settings({}, vllm_base_url="http://gpu:8000/v1")  # vllm is not in the chain


def test_endpoint_names_the_circuit_and_hides_the_key() -> None:
    """The circuit is the provider's name, URL, model and key hash; the mock has none."""
    env = {"LLM_PROVIDER": "groq", "GROQ_API_KEY": "gsk_secret_value"}
    groq, ollama, mock = (s.endpoint for s in load_settings(env).chain)
    url = "https://api.groq.com/openai/v1"
    assert groq.circuit_key("m") == circuit_key("groq", url, "m", "gsk_secret_value")
    assert ollama.circuit_key("m") == circuit_key("ollama", "http://localhost:11434", "m", None)
    assert mock.circuit_key("mock") == ""
    assert "gsk_secret_value" not in repr(groq) + groq.circuit_key("m")
    missing = load_settings({"LLM_PROVIDER": "groq"}).chain[0].endpoint.missing
    assert missing == "no API key is configured (GROQ_API_KEY)"


def test_an_injected_client_is_read_from_itself() -> None:
    """A client an app built names its own URL, key and model; one naming none, its class."""
    groq = BUILT_IN["groq"]
    client = ChatOpenAI(base_url="http://groq.test/v1", api_key="gsk_app", model="llama-3.3-70b")
    found, model = injected(groq, client)
    assert (found.name, found.base_url, model) == ("groq", "http://groq.test/v1", "llama-3.3-70b")
    assert found.circuit_key("llama-3.3-70b") == circuit_key(
        "groq", "http://groq.test/v1", "llama-3.3-70b", "gsk_app"
    )
    local, model = injected(BUILT_IN["ollama"], ChatOllama(model="llama3.2", base_url="http://h:1"))
    assert (local.base_url, local.api_key, model) == ("http://h:1", None, "llama3.2")
    scripted, model = injected(groq, MockChatModel())
    assert (scripted.base_url, model) == ("MockChatModel", None)
