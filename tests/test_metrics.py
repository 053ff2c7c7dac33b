"""Observability: counters per provider and error kind, one JSON log line per failover."""

from __future__ import annotations

import json
import logging

import pytest
from langchain_core.messages import HumanMessage

from llm_failover import metrics
from llm_failover.testing import OllamaEmulator, OpenAIEmulator, busy, quota
from tests.conftest import FAKE_KEY, MakeGraph


def test_counters_and_log_line_per_failover(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Quota then busy: counts for each attempt and failover, two JSON log lines."""
    before = metrics.snapshot()
    openai_emu.script(quota())
    ollama_emu.script(busy())
    with caplog.at_level(logging.WARNING, logger="llm_failover"):
        make_graph().invoke({"messages": [HumanMessage("hi")]})
    after = metrics.snapshot()

    def grew(kind: str, labels: tuple[str, ...]) -> float:
        return after[kind].get(labels, 0) - before[kind].get(labels, 0)

    assert grew("attempts", ("openai", "gpt-4o-mini", "insufficient_quota")) == 1
    assert grew("attempts", ("ollama", "qwen2.5:0.5b", "server_error")) == 1
    assert grew("attempts", ("mock", "mock", "none")) == 1
    assert grew("failovers", ("openai", "ollama", "insufficient_quota")) == 1
    assert grew("failovers", ("ollama", "mock", "server_error")) == 1
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "llm_failover"]
    assert [(x["from"], x["to"], x["reason"]) for x in lines] == [
        ("openai", "ollama", "insufficient_quota"),
        ("ollama", "mock", "server_error"),
    ]
    assert "429" in lines[0]["detail"] and FAKE_KEY not in caplog.text


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
