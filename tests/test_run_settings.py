"""Per-run settings in the context (Studio's form): providers, models, timeout, policy.

The graph is built once with its settings, granting runs every field
(`run_settings="all"`); each test changes them for one run through `context=` and checks,
against the emulators, that the run did what the context said and that the next run
without a context is back to the graph's own settings. What a run may not do (ungranted
fields, absurd values, changing what other callers get) is in `test_untrusted_callers.py`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import AllProvidersFailed, ConfigError
from langgraph_failover.graph.context import OPTIONS, SETTINGS, Context, context_of
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import (
    FakeClock,
    OllamaEmulator,
    OpenAIEmulator,
    hang,
    quota,
    rate_limited,
    server_error,
)
from tests.conftest import FAKE_KEY, MakeGraph, failover

USER = {"messages": [HumanMessage("hi")]}


@pytest.fixture
def make_graph(make_graph: MakeGraph) -> MakeGraph:
    """The conftest graph, granting runs every context field."""

    def make(**overrides: Any) -> Any:
        return make_graph(**{"run_settings": "all", **overrides})

    return make


def route(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The turn's attempts as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


def test_every_field_carries_a_description_for_studio(make_graph: MakeGraph) -> None:
    """The context schema Studio renders: every field described, the settings included."""
    schema = make_graph().get_context_jsonschema()
    properties = schema["properties"]
    assert set(properties) == {*SETTINGS, *OPTIONS}
    undescribed = [name for name, field in properties.items() if not field.get("description")]
    assert undescribed == []


def test_providers_narrow_the_chain_for_one_run(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """providers=["ollama", "mock"] skips OpenAI for that run only."""
    graph = make_graph()
    state = graph.invoke(USER, context={"providers": ["ollama", "mock"]})
    assert route(state) == [("ollama", None)]
    assert openai_emu.requests == []
    assert route(graph.invoke(USER)) == [("openai", None)]


def test_a_skipped_fallback_is_jumped_over(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """providers=["openai", "mock"]: a failed primary goes straight to the mock."""
    openai_emu.always(quota())
    events = list(
        make_graph().stream(
            USER, context=Context(providers=["openai", "mock"]), stream_mode="custom"
        )
    )
    assert events == [failover("openai", "mock", "insufficient_quota")]
    assert ollama_emu.requests == []


def test_a_run_without_the_mock_ends_in_all_failed_and_keeps_the_message(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Leaving the mock out: every provider failing raises, the user's message is kept."""
    openai_emu.always(server_error())
    ollama_emu.always(server_error())
    graph = make_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    with pytest.raises(AllProvidersFailed) as raised:
        graph.invoke(USER, config, context={"providers": "openai,ollama"})
    assert [a["node"] for a in raised.value.attempts] == ["openai", "ollama"]
    assert [m.content for m in graph.get_state(config).values["messages"]] == ["hi"]


def test_models_change_the_model_and_its_circuit(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """models={"openai": ...}: that model is asked; its quota does not close the default's."""
    store = MemoryStore()
    graph = make_graph(circuit_store=store)
    openai_emu.script(quota())
    state = graph.invoke(USER, context={"models": {"openai": "gpt-4.1-nano", "ollama": "qwen3"}})
    assert [(r.model) for r in [*openai_emu.requests, *ollama_emu.requests]] == [
        "gpt-4.1-nano",
        "qwen3",
    ]
    assert [(a["model"], a["error"]) for a in state["attempts"]] == [
        ("gpt-4.1-nano", "insufficient_quota"),
        ("qwen3", None),
    ]
    nano = circuit_key("openai", openai_emu.base_url, "gpt-4.1-nano", FAKE_KEY)
    assert store.get(nano) is not None
    state = graph.invoke(USER)  # the default model's circuit never opened
    assert route(state) == [("openai", None)]
    assert openai_emu.requests[-1].model == "gpt-4o-mini"


def test_timeout_for_one_run(make_graph: MakeGraph, openai_emu: OpenAIEmulator) -> None:
    """timeout=0.2 cuts a hung primary at 0.2 s, where the graph's own limit is 2 s."""
    openai_emu.script(hang(seconds=5))
    state = make_graph().invoke(USER, context={"timeout": 0.2})
    assert route(state) == [("openai", "timeout"), ("ollama", None)]
    assert state["attempts"][0]["latency_ms"] < 2000


def test_policy_for_one_run(make_graph: MakeGraph, openai_emu: OpenAIEmulator) -> None:
    """A 1 s Retry-After is waited out by default; with retry_budget=0.5 it fails over."""
    clock = FakeClock()
    graph = make_graph(clock=clock.clock, circuit_store=MemoryStore())
    openai_emu.script(rate_limited(retry_after=1))
    state = graph.invoke(USER, context={"retry_budget": 0.5, "rate_limit_cooldown": 1})
    assert route(state) == [("openai", "rate_limited"), ("ollama", None)]
    assert clock.sleeps == []
    clock.advance(1)
    openai_emu.script(rate_limited(retry_after=1))
    assert route(graph.invoke(USER)) == [("openai", "rate_limited"), ("openai", None)]
    assert clock.sleeps == [1]


def test_a_runs_own_policy_skips_for_that_run_only(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """failure_threshold=1: that run skips a primary with one 5xx; others still call it."""
    store, clock = MemoryStore(), FakeClock()
    graph = make_graph(circuit_store=store, clock=clock.clock)
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    openai_emu.script(server_error())
    graph.invoke(USER)
    record = store.get(key)
    assert record is not None and record["open_until"] is None  # 1 of the graph's 3
    strict = {"failure_threshold": 1, "failure_cooldown": 60}
    state = graph.invoke(USER, context=strict)
    assert route(state) == [("openai", "circuit_open"), ("ollama", None)]
    assert "this run's own policy" in state["attempts"][0]["detail"]
    assert state["attempts"][0]["open_until"] is None  # nothing shared was opened
    assert len(openai_emu.requests) == 1
    assert route(graph.invoke(USER)) == [("openai", None)]
    clock.advance(61)
    openai_emu.script(server_error())
    graph.invoke(USER)
    clock.advance(61)  # the strict run's own cooldown over: it calls again
    assert route(graph.invoke(USER, context=strict)) == [("openai", None)]


def test_empty_fields_mean_the_graph_settings(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """A form sends empty values for untouched fields: they change nothing."""
    blank: dict[str, Any] = {name: None for name in SETTINGS}
    blank.update(providers=[], models={}, timeout="")
    assert route(make_graph().invoke(USER, context=blank)) == [("openai", None)]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"providers": ["olama"]}, "context providers: unknown provider 'olama'; valid: "),
        ({"providers": ["ollama", "openai"]}, "in the graph's chain order ['openai', 'ollama'"),
        ({"providers": ["ollama", "ollama"]}, "must name each provider once"),
        ({"models": {"mock": "gpt-4o"}}, "context models: 'mock' cannot take the model"),
        ({"models": {"openai": ""}}, "cannot take the model ''"),
        ({"models": "gpt-4o"}, 'context models: expected {"provider": "model"}'),
        ({"timeout": "soon"}, "context timeout: expected a number of seconds, got 'soon'"),
        ({"failure_threshold": 0}, "context failure_threshold: must be 1 or more"),
        ({"retry_budget": -1}, "context retry_budget: must be a positive number"),
    ],
)
def test_bad_values_are_refused_naming_them(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, context: dict[str, Any], message: str
) -> None:
    """A misspelled provider or a malformed number: a clear error, and no request made."""
    with pytest.raises(ConfigError) as raised:
        make_graph().invoke(USER, context=context)
    assert message in str(raised.value)
    assert openai_emu.requests == []


def test_context_fields_are_plain_and_frozen() -> None:
    """The context is an immutable dataclass whose defaults all mean "the graph's own"."""
    context = Context()
    assert all(value is None for value in dataclasses.asdict(context).values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.timeout = 1  # type: ignore[misc]


def test_server_context_with_extra_keys_is_accepted() -> None:
    """A LangGraph server may add keys of its own to the run's context: ignored."""
    assert context_of({"temperature": 0.2, "assistant_id": "x"}).temperature == 0.2
