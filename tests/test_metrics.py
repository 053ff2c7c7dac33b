"""Observability: counters per provider and error kind, one JSON log line per failover."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage

from langgraph_failover import metrics
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, busy, quota
from tests.conftest import FAKE_KEY, MakeGraph, failover


def test_counters_and_log_line_per_failover(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Quota then busy: counts per attempt and failover; a JSON line for each, and the opening."""
    before = metrics.snapshot()
    openai_emu.script(quota())
    ollama_emu.script(busy())
    with caplog.at_level(logging.WARNING, logger="langgraph_failover"):
        make_graph().invoke({"messages": [HumanMessage("hi")]})
    after = metrics.snapshot()

    def grew(kind: str, labels: tuple[str, ...]) -> float:
        return after[kind].get(labels, 0) - before[kind].get(labels, 0)

    assert grew("attempts", ("openai", "gpt-4o-mini", "insufficient_quota")) == 1
    assert grew("attempts", ("ollama", "qwen2.5:0.5b", "server_error")) == 1
    assert grew("attempts", ("mock", "mock", "none")) == 1
    assert grew("failovers", ("openai", "ollama", "insufficient_quota")) == 1
    assert grew("failovers", ("ollama", "mock", "server_error")) == 1
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "langgraph_failover"]
    assert [(x["type"], x.get("from"), x.get("to"), x["reason"]) for x in lines] == [
        ("circuit_opened", None, None, "insufficient_quota"),  # its own update, then the move
        ("failover", "openai", "ollama", "insufficient_quota"),
        ("failover", "ollama", "mock", "server_error"),
    ]
    assert "429" in lines[1]["detail"] and FAKE_KEY not in caplog.text


def test_prometheus_text(make_graph: MakeGraph, openai_emu: OpenAIEmulator) -> None:
    """The counters render in Prometheus' text format, labelled."""
    openai_emu.script(quota())
    make_graph().invoke({"messages": [HumanMessage("hi")]})
    text = metrics.prometheus_text()
    assert "# TYPE llm_failover_attempts_total counter" in text
    assert (
        'llm_failover_failovers_total{from_provider="openai",reason="insufficient_quota",'
        'to_provider="ollama"}' in text
    )


class _Runs(BaseCallbackHandler):
    """Collects the chat-model runs a tracer would see."""

    def __init__(self) -> None:
        self.started: list[tuple[str, list[str], dict[str, Any]]] = []
        self.events: list[tuple[str, Any]] = []
        self.errors = 0

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        name = kwargs.get("name") or ""
        self.started.append((name, kwargs.get("tags") or [], kwargs.get("metadata") or {}))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors += 1

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        self.events.append((name, data))


def test_every_attempt_is_visible_in_traces(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """Each attempt is a named, tagged model run with provider metadata; the failover an event."""
    runs = _Runs()
    openai_emu.script(quota())
    make_graph().invoke({"messages": [HumanMessage("hi")]}, {"callbacks": [runs]})
    assert [name for name, _, _ in runs.started] == ["openai attempt 1", "ollama attempt 2"]
    tags, meta = runs.started[1][1], runs.started[1][2]
    assert "llm_failover:ollama" in tags
    assert (meta["llm_failover_provider"], meta["llm_failover_attempt"]) == ("ollama", 2)
    assert runs.errors == 1  # the primary's run ended in its error
    assert runs.events == [
        ("failover", failover("openai", "ollama", "insufficient_quota"))
    ]  # fmt: skip
