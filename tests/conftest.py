"""Shared fixtures: the shipped emulators, checkpointers, and graphs wired to them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from llm_failover import build_graph
from llm_failover.graph.builder import FailoverGraph
from llm_failover.graph.settings import ENV_NAMES
from llm_failover.health.store import PROCESS_STORE
from llm_failover.testing import OllamaEmulator, OpenAIEmulator

# Recognisable, so a leak of it anywhere can be searched for.
FAKE_KEY = "sk-test-CANARY-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own settings (and CI's) must not leak into any test."""
    for name in [*ENV_NAMES.values(), "LLM_FAILOVER_CHECKPOINT_URL"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_circuits() -> Iterator[None]:
    """Every test starts with closed circuits: the process-wide store is shared."""
    PROCESS_STORE.clear()
    yield
    PROCESS_STORE.clear()


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIEmulator]:
    """The OpenAI emulator for the whole session, as its last user left it."""
    with OpenAIEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[OllamaEmulator]:
    """The Ollama emulator for the whole session, as its last user left it."""
    with OllamaEmulator() as emulator:
        yield emulator


@pytest.fixture
def openai_emu(openai_server: OpenAIEmulator) -> OpenAIEmulator:
    """The OpenAI emulator, healthy, with an empty script and no recorded requests."""
    openai_server.reset()
    return openai_server


@pytest.fixture
def ollama_emu(ollama_server: OllamaEmulator) -> OllamaEmulator:
    """The Ollama emulator, healthy, with an empty script and no recorded requests."""
    ollama_server.reset()
    return ollama_server


@pytest.fixture(params=["memory", "sqlite"])
def checkpointer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BaseCheckpointSaver[Any]]:
    """Each checkpointer apps use: in memory and the embedded SQLite default."""
    if request.param == "memory":
        yield InMemorySaver()
        return
    conn = sqlite3.connect(tmp_path / "checkpoints.sqlite", check_same_thread=False)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


MakeGraph = Callable[..., FailoverGraph]


@pytest.fixture
def make_graph(openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator) -> MakeGraph:
    """Build the real graph against the emulators; keyword arguments override settings."""

    def make(**overrides: Any) -> FailoverGraph:
        settings: dict[str, Any] = {
            "openai_api_key": FAKE_KEY,
            "openai_base_url": openai_emu.base_url,
            "ollama_base_url": ollama_emu.base_url,
            "timeout": 2,
        }
        return build_graph(**{**settings, **overrides})

    return make


@pytest.fixture
def app_env(
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An app's environment, pointed at the emulators (for the drop-in model's factory)."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
    monkeypatch.setenv("OLLAMA_BASE_URL", ollama_emu.base_url)
    monkeypatch.setenv("LLM_FAILOVER_CHECKPOINT_URL", str(tmp_path / "threads.sqlite"))
