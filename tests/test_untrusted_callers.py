"""Untrusted callers: run settings are the deployer's to grant, bounded, and never shared.

A run's context comes from whoever calls the graph. These tests check that a field the
deployer did not grant is refused before any request, that a granted value is still
bounded, and that no run, however hostile its settings, changes what other callers get:
the attack of issue 12 is run against the real clients and emulators, then an ordinary
caller must still be served by a healthy primary.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import ConfigError, build_graph
from langgraph_failover.graph.limits import DEFAULT_GRANTS
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.metrics import ATTEMPTS, MAX_MODELS
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator, ok, quota
from tests.conftest import FAKE_KEY, MakeGraph

USER = {"messages": [HumanMessage("hi")]}
ATTACK = {"timeout": 0.001, "failure_threshold": 1, "failure_cooldown": 86_400}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def route(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The turn's attempts as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


def deep(levels: int) -> Any:
    """A value nested `levels` lists deep."""
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "field",
    ["models", "timeout", "turn_budget", "retry_budget", "quota_cooldown",
     "rate_limit_cooldown", "failure_threshold", "failure_cooldown"],
)  # fmt: skip
def test_an_ungranted_field_is_refused_before_any_request(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, field: str
) -> None:
    """By default a run may not set the policy, timeout or models; nothing is stored."""
    value: Any = {"openai": "o1-pro"} if field == "models" else 1
    graph = make_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke(USER, config)
    before = graph.get_state(config)
    with pytest.raises(ConfigError) as raised:
        graph.invoke({"messages": [HumanMessage("again")]}, config, context={field: value})
    message = str(raised.value)
    assert message.startswith(f"context {field}: runs of this graph may not set it")
    assert f"LLM_FAILOVER_RUN_SETTINGS={','.join(sorted(DEFAULT_GRANTS | {field}))} " in message
    assert len(openai_emu.requests) == 1
    after = graph.get_state(config)
    assert after.values == before.values and after.tasks == () and after.config == before.config


def test_the_default_grants_keep_call_options_and_providers(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Tools, tool choice, temperature, stop and providers need no grant."""
    context = {"tools": [TOOL], "tool_choice": "auto", "temperature": 0.2, "stop": ["\n\n"],
               "providers": ["ollama", "mock"]}  # fmt: skip
    state = make_graph().invoke(USER, context=context)
    assert route(state) == [("ollama", None)]
    assert openai_emu.requests == []
    assert ollama_emu.requests[0].body["options"]["temperature"] == 0.2


def test_the_environment_grants_fields(
    make_graph: MakeGraph, monkeypatch: pytest.MonkeyPatch, openai_emu: OpenAIEmulator
) -> None:
    """LLM_FAILOVER_RUN_SETTINGS names the fields; the keyword wins over it."""
    monkeypatch.setenv("LLM_FAILOVER_RUN_SETTINGS", "timeout, providers")
    graph = make_graph()
    assert route(graph.invoke(USER, context={"timeout": 1})) == [("openai", None)]
    with pytest.raises(ConfigError, match=r"^context temperature: runs of this graph"):
        graph.invoke(USER, context={"temperature": 0.5})
    everything = make_graph(run_settings="all")
    state = everything.invoke(USER, context={"models": {"openai": "gpt-4.1-nano"}})
    assert openai_emu.requests[-1].model == "gpt-4.1-nano" and route(state) == [("openai", None)]
    with pytest.raises(ConfigError, match=r"^context tools: runs of this graph") as refused:
        make_graph(run_settings="none").invoke(USER, context={"tools": [TOOL]})
    assert "(granted: none) (the drop-in model sends it when set)" in str(refused.value)
    assert "LLM_FAILOVER_RUN_SETTINGS=tools " in str(refused.value)


def test_an_unknown_grant_is_refused_when_the_graph_is_built() -> None:
    """A misspelled field in LLM_FAILOVER_RUN_SETTINGS names it and the valid ones."""
    with pytest.raises(ConfigError) as raised:
        build_graph(run_settings="timeout,temprature")
    assert str(raised.value).startswith(
        "LLM_FAILOVER_RUN_SETTINGS: unknown field(s) ['temprature']; valid: all, none, or ["
    )


@pytest.mark.parametrize(
    ("context", "start"),
    [
        ({"timeout": 5}, "context timeout: at most the graph's own 2 seconds"),
        ({"turn_budget": 1e308}, "context turn_budget: must be at most 7200 seconds"),
        ({"turn_budget": 61}, "context turn_budget: at most the graph's own 60 seconds"),
        ({"retry_budget": float("inf")}, "context retry_budget: must be a positive number"),
        ({"failure_threshold": 10**30}, "context failure_threshold: expected a whole number"),
        ({"failure_threshold": 1001}, "context failure_threshold: must be 1 or more and at most"),
        ({"failure_cooldown": 1e9}, "context failure_cooldown: must be at most 86400 seconds"),
        ({"quota_cooldown": float("nan")}, "context quota_cooldown: must be zero or more"),
        ({"rate_limit_cooldown": True}, "context rate_limit_cooldown: expected a number"),
        ({"temperature": "hot"}, "context temperature: expected a number from 0 to 2, got 'hot'"),
        ({"temperature": 3}, "context temperature: expected a number from 0 to 2"),
        ({"stop": ["x"] * 100_000}, "context stop: at most 16 sequences"),
        ({"stop": ["x" * 10_000]}, "context stop: at most 16 sequences of at most 256"),
        ({"stop": 5}, "context stop: expected a list of strings, got 5"),
        ({"tools": [TOOL] * 5000}, "context tools: at most 128 tools, got 5000"),
        ({"tools": 5}, "context tools: expected a list of tool objects, got 5"),
        ({"tool_choice": 5}, "context tool_choice: expected a string or an object"),
        ({"tool_choice": "f" * 1000}, "context tool_choice: at most 256 characters"),
        ({"tools": [{}]}, "context tools: tools[0] is not a tool in OpenAI's format"),
        ({"tools": [TOOL, {"x": "y" * 100_000}]}, "context tools: tools[1] is not a tool"),
        (
            {"tools": [{"type": "function", "function": {"name": "f\n"}}]},
            "context tools: control characters",
        ),
        ({"response_format": "json"}, "context response_format: expected an object"),
        ({"providers": ["openai"] * 100}, "context providers: at most 64 entries"),
        (5, "context: expected an object of run settings, got a int"),
        ({"response_format": {"x": "y" * 300_000}}, "context response_format: at most"),
        ({"response_format": deep(5000)}, "context response_format: not plain JSON data"),
        ({"models": {"openai": "m" * 100_000}}, "context models: expected a name of 1 to 256"),
        ({"models": {"openai": "gpt\x00"}}, "context models: control characters"),
        ({"models": {f"p{i}": "m" for i in range(100)}}, "context models: at most 64 entries"),
        ({"providers": 5}, "context providers: expected a list of names, got 5"),
        ({"providers": [{"a": 1}]}, "context providers: expected a name of 1 to 256"),
    ],
)
def test_a_granted_value_is_still_bounded(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, context: Any, start: str
) -> None:
    """Absurd values are refused with a short message naming the field, before any request."""
    with pytest.raises(ConfigError) as raised:
        make_graph(run_settings="all").invoke(USER, context=context)
    assert str(raised.value).startswith(start)
    assert len(str(raised.value)) < 1024
    assert openai_emu.requests == []


@pytest.mark.parametrize(
    ("name", "value", "start"),
    [
        ("LLM_FAILOVER_FAILURE_COOLDOWN", "1e9", "must be at most 86400 seconds"),
        ("LLM_FAILOVER_TIMEOUT", "1e308", "must be at most 3600 seconds"),
        ("LLM_FAILOVER_FAILURE_THRESHOLD", "100000000000000000000", "expected a whole number"),
    ],
)
def test_the_deployers_values_are_bounded_too(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, start: str
) -> None:
    """The same ranges hold for the environment, refused when the graph is built."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}: {start}"):
        build_graph()


async def test_a_hostile_run_leaves_other_callers_on_a_healthy_primary(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Issue 12's attack, granted everything, sync and async: later callers get OpenAI."""
    store = MemoryStore()
    graph = make_graph(run_settings="all", circuit_store=store)
    openai_emu.always(ok(delay=0.05))  # a healthy answer, slower than the attacker allows
    ollama_emu.always(ok(delay=0.05))
    for _ in range(3):
        state = graph.invoke(USER, context=ATTACK)
        assert route(state)[0] == ("openai", "timeout")
        state = await graph.ainvoke(USER, context=ATTACK)
        assert route(state)[0][1] in ("timeout", "circuit_open")
    assert store.get(circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)) is None
    assert store.get(circuit_key("ollama", ollama_emu.base_url, "qwen2.5:0.5b", None)) is None
    for state in (graph.invoke(USER), await graph.ainvoke(USER)):
        assert route(state) == [("openai", None)]
        assert state["served_by"] == "openai" and state["degraded"] is False


def test_a_runs_long_quota_cooldown_is_its_own(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """quota_cooldown=86400 on the run that met the 429: others wait the graph's 300 s."""
    clock, saver = FakeClock(), InMemorySaver()
    graph = make_graph(run_settings="all", circuit_store=MemoryStore(), clock=clock.clock,
                       checkpointer=saver)  # fmt: skip
    attacker: Any = {"configurable": {"thread_id": "attacker"}}
    victim: Any = {"configurable": {"thread_id": "victim"}}
    openai_emu.script(quota())
    state = graph.invoke(USER, attacker, context={"quota_cooldown": 86_400})
    assert state["attempts"][0]["open_until"] == clock.now() + 300
    assert state["sticky"] is not None and state["sticky"]["until"] == clock.now() + 300
    assert route(graph.invoke(USER, victim)) == [("openai", "circuit_open"), ("ollama", None)]
    clock.advance(301)
    # The attacker's own run still judges the quota error by its own cooldown...
    state = graph.invoke(USER, attacker, context={"quota_cooldown": 86_400})
    assert route(state) == [("openai", "circuit_open"), ("ollama", None)]
    assert len(openai_emu.requests) == 1
    # ...and gave back the probe it claimed: the victim's turn probes and closes it.
    assert route(graph.invoke(USER, victim)) == [("openai", None)]


def test_circuit_records_and_metric_labels_are_bounded(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """A run naming a new model each turn: records and label sets stay within their caps."""
    store = MemoryStore(max_records=50)
    graph = make_graph(run_settings="all", circuit_store=store)
    openai_emu.always(quota())
    for i in range(200):
        graph.invoke(USER, context={"models": {"openai": f"model-{i}-" + "x" * 200}})
    assert store.count() == 50
    newest = circuit_key("openai", openai_emu.base_url, f"model-199-{'x' * 200}", FAKE_KEY)
    assert store.get(newest) is not None
    labels = {s.labels["model"] for m in ATTEMPTS.collect() for s in m.samples}
    assert len(labels) <= MAX_MODELS
    assert f"model-199-{'x' * 200}" in labels and f"model-0-{'x' * 200}" not in labels
