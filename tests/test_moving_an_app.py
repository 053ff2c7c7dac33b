"""The docs' "Moving an app onto it" (docs/moving.md), run as the two apps would run it."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

import langgraph_failover
from langgraph_failover import AllProvidersFailed
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, busy, ok, quota
from tests.conftest import FAKE_KEY

GROQ_KEY = "gsk-test-CANARY-groq"


class ModelFactory:
    """The Flask tutor's factory, its body swapped as docs/moving.md shows."""

    @staticmethod
    def create_chat_model(temperature: float = 0.7, tools: Any = None) -> Any:
        """What `services/llm_factory.py` returns."""
        return langgraph_failover.create_chat_model(temperature=temperature, tools=tools)


class GradeSentence(BaseModel):
    """Grade the learner's sentence."""

    sentence: str


@pytest.fixture
def tutor_env(
    monkeypatch: pytest.MonkeyPatch, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """The Flask tutor's environment, renamed by docs/moving.md's table; Groq first."""
    env = {
        "LLM_PROVIDER": "groq",
        "LLM_FALLBACK_PROVIDER": "ollama,mock",
        "GROQ_API_KEY": GROQ_KEY,
        "GROQ_BASE_URL": openai_emu.base_url,  # the OpenAI emulator plays Groq
        "GROQ_MODEL": "llama-3.1-8b-instant",
        "OLLAMA_BASE_URL": ollama_emu.base_url,
        "OLLAMA_MODEL": "qwen2.5:1.5b",  # was CHAT_MODEL
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("tutor_env")
def test_flask_tutor_tool_loop_on_groq_then_ollama(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """The tutor's tool loop and stream, by environment alone: Groq, then Ollama on quota."""
    llm = ModelFactory.create_chat_model(temperature=0, tools=[GradeSentence])
    messages: list[Any] = [HumanMessage("grade: watashi wa Aiko desu")]
    openai_emu.always(quota())  # Groq out of quota: Ollama (which calls offered tools)
    response = llm.invoke(messages)
    assert response.response_metadata["failover"]["served_by"] == "ollama"
    (call,) = response.tool_calls
    assert call["name"] == "GradeSentence"
    messages += [response, ToolMessage("correct", tool_call_id=call["id"])]
    text = "".join(str(chunk.content) for chunk in llm.stream(messages))
    assert text.startswith("[ollama qwen2.5:1.5b]")
    (groq,) = openai_emu.requests  # once: its circuit is open for the second call
    assert (groq.model, groq.sent_key(GROQ_KEY)) == ("llama-3.1-8b-instant", True)
    assert [r.model for r in ollama_emu.requests] == ["qwen2.5:1.5b"] * 2


class ServiceSettings(BaseSettings):
    """The FastAPI service's settings, as pydantic-settings loads them (its own names)."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str
    openai_api_key: SecretStr


def make_llm(settings: ServiceSettings, temperature: float = 0, streaming: bool = False) -> Any:
    """The service's `make_llm`, its body as docs/moving.md shows."""
    return langgraph_failover.create_chat_model(
        temperature=temperature,
        streaming=streaming,
        model=settings.llm_model,
        openai_base_url=settings.llm_base_url,
        openai_api_key=settings.openai_api_key,
        timeout=25,
    )


def test_fastapi_service_passes_its_settings_as_keywords(openai_emu: OpenAIEmulator) -> None:
    """Settings as keywords, secrets as SecretStr: each key reaches OpenAI, only its own."""
    ours = ServiceSettings(llm_base_url=openai_emu.base_url, openai_api_key=SecretStr(FAKE_KEY))
    theirs = ours.model_copy(update={"openai_api_key": SecretStr("sk-test-another")})
    for settings in (ours, theirs):
        answer = make_llm(settings).invoke("hi")
        assert answer.response_metadata["failover"]["served_by"] == "openai"
    assert [r.sent_key(FAKE_KEY) for r in openai_emu.requests] == [True, False]
    assert openai_emu.requests[1].sent_key("sk-test-another")
    assert make_llm(ours).graph is make_llm(ours).graph  # still built once per setting


@pytest.mark.usefixtures("app_env")
def test_degraded_answers_are_not_kept_as_memory(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Everything down: the mock answers, flagged degraded, and the app keeps no memory."""
    memory: list[str] = []
    llm = langgraph_failover.create_chat_model()
    for down in (False, True):
        openai_emu.always(quota() if down else ok())
        ollama_emu.always(busy() if down else ok())
        answer = llm.invoke("my name is Aiko")
        if not answer.response_metadata["failover"]["degraded"]:
            memory.append(str(answer.content))
    assert memory == ["[openai gpt-4o-mini] reply to: my name is Aiko"]


@pytest.mark.usefixtures("app_env")
def test_all_providers_failed_names_causes_and_lists_attempts(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """No mock in the chain: the error the app catches says "quota" and lists each attempt."""
    openai_emu.always(quota())
    ollama_emu.always(busy())
    llm = langgraph_failover.create_chat_model(fallback_provider="ollama")
    for _ in range(2):  # the second finds OpenAI's circuit open
        with pytest.raises(AllProvidersFailed) as caught:
            llm.invoke("hi")
        assert "insufficient_quota" in str(caught.value)
    attempts = [(a["provider"], a["error"]) for a in caught.value.attempts]
    assert attempts == [("openai", "circuit_open"), ("ollama", "server_error")]
    assert len(openai_emu.requests) == 1
