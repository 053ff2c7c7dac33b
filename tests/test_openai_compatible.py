"""OpenAI-compatible upstreams (Groq built in, any other by name): real clients, emulators.

Groq and the generic upstreams are played by a second OpenAI emulator; each upstream
must receive only its own key, URL and model, keep its own circuit, and answer as itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from langgraph_failover import ConfigError, build_graph
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import PROCESS_STORE
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok, quota, server_error
from tests.conftest import failover

OPENAI_KEY, GROQ_KEY = "sk-test-openai-key-000000", "gsk_test_groq_key_000000"


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[OpenAIEmulator]:
    """A second OpenAI-compatible server (Groq, vLLM...), for this module's tests."""
    with OpenAIEmulator() as emulator:
        yield emulator


@pytest.fixture
def upstream(upstream_server: OpenAIEmulator) -> OpenAIEmulator:
    """The second server, healthy, with nothing recorded."""
    upstream_server.reset()
    return upstream_server


def test_chain_configured_by_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
    openai_emu: OpenAIEmulator,
    upstream: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
) -> None:
    """openai,groq,ollama,mock from variables only: each server gets its own key, URL, model."""
    env = {"LLM_PROVIDER": "openai", "LLM_FALLBACK_PROVIDER": "groq,ollama,mock",
           "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai_emu.base_url,
           "OPENAI_MODEL": "gpt-4.1-nano", "GROQ_API_KEY": GROQ_KEY,
           "GROQ_BASE_URL": upstream.base_url, "GROQ_MODEL": "llama-3.3-70b-versatile",
           "OLLAMA_BASE_URL": ollama_emu.base_url, "OLLAMA_MODEL": "llama3.2"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LLM_FAILOVER_SERVER_RETRIES", "0")  # one 5xx fails over
    openai_emu.script(quota())
    upstream.script(server_error())
    state = build_graph().invoke({"messages": [HumanMessage("hi")]})
    assert state["served_by"] == "ollama"
    assert [(a["provider"], a["model"], a["error"]) for a in state["attempts"]] == [
        ("openai", "gpt-4.1-nano", "insufficient_quota"),
        ("groq", "llama-3.3-70b-versatile", "server_error"),
        ("ollama", "llama3.2", None),
    ]
    (sent_openai,), (sent_groq,), (sent_ollama,) = (
        openai_emu.requests, upstream.requests, ollama_emu.requests)  # fmt: skip
    assert sent_openai.sent_key(OPENAI_KEY) and sent_openai.model == "gpt-4.1-nano"
    assert sent_groq.sent_key(GROQ_KEY) and sent_groq.model == "llama-3.3-70b-versatile"
    assert not sent_ollama.has_auth and sent_ollama.model == "llama3.2"
    assert OPENAI_KEY not in repr(state) and GROQ_KEY not in repr(state)


def test_openai_quota_does_not_skip_groq(
    monkeypatch: pytest.MonkeyPatch, openai_emu: OpenAIEmulator, upstream: OpenAIEmulator
) -> None:
    """OpenAI's open circuit is OpenAI's alone: Groq keeps answering, as `groq`."""
    for name, value in {"LLM_FALLBACK_PROVIDER": "groq,mock", "OPENAI_API_KEY": OPENAI_KEY,
                        "OPENAI_BASE_URL": openai_emu.base_url, "GROQ_API_KEY": GROQ_KEY,
                        "GROQ_BASE_URL": upstream.base_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    openai_emu.always(quota())
    graph = build_graph()
    first = graph.invoke({"messages": [HumanMessage("one")]})
    second = graph.invoke({"messages": [HumanMessage("two")]})
    assert (first["served_by"], second["served_by"]) == ("groq", "groq")
    assert [a["error"] for a in second["attempts"]] == ["circuit_open", None]
    assert len(openai_emu.requests) == 1 and len(upstream.requests) == 2
    assert second["messages"][-1].response_metadata["failover"]["served_by"] == "groq"


def test_groq_as_the_primary(
    monkeypatch: pytest.MonkeyPatch, upstream: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """LLM_PROVIDER=groq alone: Groq's default model, Groq's key, OpenAI's key never sent."""
    for name, value in {"LLM_PROVIDER": "groq", "GROQ_API_KEY": GROQ_KEY,
                        "GROQ_BASE_URL": upstream.base_url, "OPENAI_API_KEY": OPENAI_KEY,
                        "OLLAMA_BASE_URL": ollama_emu.base_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    state = build_graph().invoke({"messages": [HumanMessage("hi")]})
    assert (state["served_by"], state["degraded"]) == ("groq", False)
    (sent,) = upstream.requests
    assert sent.model == "llama-3.1-8b-instant" and sent.sent_key(GROQ_KEY)
    assert ollama_emu.requests == []


def test_groq_without_a_key_is_not_configured(
    monkeypatch: pytest.MonkeyPatch, upstream: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Without GROQ_API_KEY the Groq node makes no request and says which variable is missing."""
    for name, value in {"LLM_PROVIDER": "groq", "GROQ_BASE_URL": upstream.base_url,
                        "OPENAI_API_KEY": OPENAI_KEY,
                        "OLLAMA_BASE_URL": ollama_emu.base_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    state = build_graph().invoke({"messages": [HumanMessage("hi")]})
    groq = state["attempts"][0]
    assert (groq["error"], state["served_by"]) == ("not_configured", "ollama")
    assert "GROQ_API_KEY" in str(groq["detail"]) and upstream.requests == []


def test_generic_upstream_named_only_by_environment(
    monkeypatch: pytest.MonkeyPatch, openai_emu: OpenAIEmulator, upstream: OpenAIEmulator
) -> None:
    """LLM_FALLBACK_PROVIDER=vllm,mock with VLLM_BASE_URL: vLLM answers as `vllm`, keyless."""
    for name, value in {"LLM_FALLBACK_PROVIDER": "vllm,mock", "OPENAI_API_KEY": OPENAI_KEY,
                        "OPENAI_BASE_URL": openai_emu.base_url, "VLLM_BASE_URL": upstream.base_url,
                        "VLLM_MODEL": "Qwen/Qwen3-8B"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    openai_emu.script(quota())
    state = build_graph().invoke({"messages": [HumanMessage("hi")]})
    assert state["served_by"] == "vllm"
    (sent,) = upstream.requests
    assert sent.model == "Qwen/Qwen3-8B" and sent.sent_key("EMPTY")  # never OpenAI's key
    assert not sent.sent_key(OPENAI_KEY)


def test_typo_in_the_chain_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """`olama` is not silently the mock: build_graph names OLAMA_BASE_URL and the built-ins."""
    monkeypatch.setenv("LLM_FALLBACK_PROVIDER", "olama,mock")
    with pytest.raises(ConfigError, match=r"'olama'; did you mean 'ollama'\?.*OLAMA_BASE_URL"):
        build_graph()


def test_injected_groq_client_keeps_its_own_circuit(
    monkeypatch: pytest.MonkeyPatch, openai_emu: OpenAIEmulator, upstream: OpenAIEmulator
) -> None:
    """A Groq ChatOpenAI given with models= is keyed by its own URL, model and key."""
    for name, value in {"LLM_FALLBACK_PROVIDER": "groq,mock", "OPENAI_API_KEY": OPENAI_KEY,
                        "OPENAI_BASE_URL": openai_emu.base_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LLM_FAILOVER_SERVER_RETRIES", "0")  # one 5xx fails over
    model = "llama-3.3-70b-versatile"
    client = ChatOpenAI(base_url=upstream.base_url, api_key=GROQ_KEY, model=model, max_retries=0)
    graph = build_graph(models={"groq": client})
    openai_emu.always(quota())
    upstream.script(server_error(), ok())
    first = graph.invoke({"messages": [HumanMessage("one")]})
    assert [(a["provider"], a["model"], a["error"]) for a in first["attempts"]] == [
        ("openai", "gpt-4o-mini", "insufficient_quota"),
        ("groq", model, "server_error"),
        ("mock", "mock", None),
    ]
    record = PROCESS_STORE.get(circuit_key("groq", upstream.base_url, model, GROQ_KEY))
    assert record is not None and record["failures"] == 1  # its own circuit counted it
    second = graph.invoke({"messages": [HumanMessage("two")]})
    assert [a["error"] for a in second["attempts"]] == ["circuit_open", None]
    assert second["served_by"] == "groq" and upstream.requests[-1].sent_key(GROQ_KEY)


def test_failover_event_tells_two_nodes_of_one_provider_apart(
    monkeypatch: pytest.MonkeyPatch, openai_emu: OpenAIEmulator
) -> None:
    """The event names providers (`from`, `to`) and the nodes (`from_node`, `to_node`)."""
    for name, value in {"LLM_FALLBACK_PROVIDER": "openai,mock", "OPENAI_API_KEY": OPENAI_KEY,
                        "OPENAI_BASE_URL": openai_emu.base_url,
                        "LLM_FALLBACK_MODEL": "gpt-4.1-nano"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LLM_FAILOVER_SERVER_RETRIES", "0")  # one 5xx fails over
    openai_emu.script(server_error())
    parts = list(build_graph().stream({"messages": [HumanMessage("hi")]}, stream_mode="custom"))
    assert parts == [
        {**failover("openai", "openai", "server_error"),
         "from_node": "openai_gpt_4o_mini", "to_node": "openai_gpt_4_1_nano"}
    ]  # fmt: skip
    assert [r.model for r in openai_emu.requests] == ["gpt-4o-mini", "gpt-4.1-nano"]
