"""Keywords: an unknown one is a `ConfigError` naming it and the nearest valid one.

Valid ones still build a graph that answers, through the real OpenAI client and the
emulator.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langgraph_failover import ConfigError, build_graph, create_chat_model
from langgraph_failover.graph.declared import BY_KEYWORD
from langgraph_failover.graph.keywords import UnknownKeyword
from langgraph_failover.graph.settings import ENV_NAMES
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator
from tests.conftest import FAKE_KEY


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"timout": 5}, "unknown setting 'timout' for build_graph; did you mean 'timeout'?"),
        ({"fallback_providr": "mock"}, "did you mean 'fallback_provider'?"),
        ({"opneai_api_key": FAKE_KEY}, "did you mean 'openai_api_key'?"),
        ({"circuit_stor": None}, "did you mean 'circuit_store'?"),
    ],
)
def test_build_graph_names_the_unknown_keyword_and_the_nearest(
    given: dict[str, Any], message: str
) -> None:
    """A misspelt keyword is a ConfigError (a TypeError too) that suggests the right one."""
    with pytest.raises(ConfigError) as caught:
        build_graph(**given)
    assert message in str(caught.value) and isinstance(caught.value, TypeError)
    assert FAKE_KEY not in str(caught.value)


def test_a_keyword_near_nothing_lists_the_valid_ones() -> None:
    """With nothing near, the message lists every valid keyword instead."""
    with pytest.raises(ConfigError, match="unknown setting 'xyzzy' for build_graph; valid: ") as c:
        build_graph(xyzzy=1)
    assert all(keyword in str(c.value) for keyword in ENV_NAMES)


@pytest.mark.parametrize(
    ("given", "nearest"),
    [
        ({"temprature": 0.2}, "temperature"),
        ({"thread": "t1"}, "thread_id"),
        ({"disable_stream": True}, "disable_streaming"),
        ({"fallback_modle": "x"}, "fallback_model"),
    ],
)
def test_create_chat_model_names_itself_and_the_nearest(
    given: dict[str, Any], nearest: str
) -> None:
    """The drop-in refuses in its own name, its own keywords among the suggestions."""
    name = next(iter(given))
    with pytest.raises(ConfigError) as caught:
        create_chat_model(**given)
    expected = f"unknown setting {name!r} for create_chat_model; did you mean {nearest!r}?"
    assert str(caught.value) == expected


def test_the_refusal_survives_pickling() -> None:
    """A worker process can hand the error back whole (names, suggestions and all)."""
    error = UnknownKeyword(["timout"], ["timeout"], "build_graph")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_every_declared_keyword_is_accepted(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Each setting's keyword at its default builds a graph that answers through OpenAI."""
    given = {k: s.default for k, s in BY_KEYWORD.items() if s.default is not None}
    graph = build_graph(
        **given,
        openai_api_key=FAKE_KEY,
        openai_base_url=openai_emu.base_url,
        openai_model="gpt-4o-mini",
        ollama_base_url=ollama_emu.base_url,
        ollama_model="qwen2.5:0.5b",
        groq_api_key="gsk_not_used_here",
        groq_base_url=openai_emu.base_url,
        groq_model="llama-3.1-8b-instant",
        fallback_provider="ollama,groq,mock",
    )
    assert graph.invoke({"messages": [HumanMessage("hi")]})["served_by"] == "openai"


def test_create_chat_model_accepts_its_own_and_build_graph_keywords(
    openai_emu: OpenAIEmulator,
) -> None:
    """Its own keywords and any setting's go through, and the model answers."""
    model = create_chat_model(
        0.1,
        [],
        thread_id=None,
        checkpointer=None,
        streaming=False,
        disable_streaming=False,
        openai_api_key=FAKE_KEY,
        openai_base_url=openai_emu.base_url,
        timeout=5,
        server_retries=0,
    )
    assert "reply to: hi" in str(model.invoke("hi").content)
