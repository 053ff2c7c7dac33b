"""Pacing with the real clients: a spent budget is waited out or skipped, never asked."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover.errors import NO_REQUEST, ConfigError
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.pacing.budget import exhausted
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator, rate_limited
from tests.conftest import CALLERS, FAKE_KEY, MakeGraph, run_turn

HI = {"messages": [HumanMessage("hi")]}
SPENT = (
    "paced: 0 of 1 requests left until 60.0 s from now (x-ratelimit-reset-requests); "
    "no request made"
)


def outcome(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each attempt's node and error kind."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


@pytest.mark.parametrize("watched", [True, False], ids=["streamed-inside", "plain-invoke"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_a_spent_budget_skips_the_primary_without_a_request(
    caller: str, watched: bool, graph_with: MakeGraph, clock: FakeClock, openai_emu: OpenAIEmulator
) -> None:
    """0 requests left for 60 s: the next turn records `paced` and makes no request."""
    limits = {} if watched else {"first_token_timeout": 0, "stall_timeout": 0}
    saver = InMemorySaver()
    graph = graph_with(checkpointer=saver, **limits)
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    first, _ = await run_turn(graph, caller, "one", f"paced-{caller}")
    assert outcome(first) == [("openai", None)]
    state, _ = await run_turn(graph, caller, "two", f"paced-{caller}")
    paced = state["attempts"][0]
    assert outcome(state) == [("openai", "paced"), ("ollama", None)]
    assert (paced["status_code"], paced["latency_ms"], paced["waited_ms"]) == (None, 0.0, 0.0)
    assert paced["detail"] == SPENT
    assert len(openai_emu.requests) == 1 and openai_emu.limited == 0
    # The headers were the node's to read: none is in the thread's checkpoint (the
    # paced attempt's detail names the reset header, not its value).
    saved = repr(saver.get_tuple({"configurable": {"thread_id": f"paced-{caller}"}}))
    assert "x-ratelimit-remaining" not in saved and "x-ratelimit-limit" not in saved


async def test_a_reset_within_the_retry_budget_is_waited_out(
    graph_with: MakeGraph, clock: FakeClock, openai_emu: OpenAIEmulator
) -> None:
    """Spent for 3 s, a retry budget of 5 s: wait 3 s, then the primary answers."""
    graph = graph_with()
    openai_emu.rate_limits(requests=1, window=3.0, now=clock.now)
    graph.invoke(HI)
    state = await graph.ainvoke(HI)
    assert outcome(state) == [("openai", None)]
    assert clock.sleeps == [pytest.approx(3.0, abs=0.1)]
    assert state["attempts"][0]["waited_ms"] == pytest.approx(3000, abs=100)
    assert len(openai_emu.requests) == 2 and openai_emu.limited == 0


@pytest.mark.parametrize(
    ("settings", "why"),
    [({"retry_budget": 2}, "the retry budget"), ({"turn_budget": 2}, "the turn budget")],
)
def test_a_reset_beyond_the_budgets_is_not_waited(
    settings: dict[str, Any], why: str, graph_with: MakeGraph, clock: FakeClock,
    openai_emu: OpenAIEmulator,
) -> None:  # fmt: skip
    """A reset 3 s ahead does not fit 2 s of retry or turn budget: skipped at once."""
    graph = graph_with(**settings)
    openai_emu.rate_limits(requests=1, window=3.0, now=clock.now)
    graph.invoke(HI)
    state = graph.invoke(HI)
    assert outcome(state) == [("openai", "paced"), ("ollama", None)], why
    assert clock.sleeps == [] and len(openai_emu.requests) == 1


def test_a_pacing_wait_is_not_the_turns_retry(
    graph_with: MakeGraph, clock: FakeClock, openai_emu: OpenAIEmulator
) -> None:
    """A 429's Retry-After is waited once, and the budget's reset after it too."""
    graph = graph_with()
    openai_emu.rate_limits(requests=2, window=3.0, now=clock.now)
    graph.invoke(HI)
    openai_emu.script(rate_limited(retry_after=1))
    state = graph.invoke(HI)
    assert outcome(state) == [("openai", "rate_limited"), ("openai", None)]
    assert clock.sleeps == [1.0, pytest.approx(2.0, abs=0.1)]
    assert [a["waited_ms"] for a in state["attempts"]] == [0.0, pytest.approx(3000, abs=100)]


def test_a_429s_headers_pace_the_next_turn(
    make_graph: MakeGraph, clock: FakeClock, openai_emu: OpenAIEmulator
) -> None:
    """Another worker spent the budget: the headers of our 429 are recorded as spent."""
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    other, ours = MemoryStore(), MemoryStore()
    make_graph(clock=clock.clock, circuit_store=other).invoke(HI)
    graph = make_graph(clock=clock.clock, circuit_store=ours)
    assert outcome(graph.invoke(HI)) == [("openai", "rate_limited"), ("ollama", None)]
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    assert exhausted(ours.budget(key, clock.now()), clock.now()) == SPENT.removesuffix(NO_REQUEST)


@pytest.mark.parametrize("off", [{"pacing": False}, {"pacing": "0"}, {"env": "0"}])
def test_pacing_off_sends_requests_as_before(
    off: dict[str, Any], graph_with: MakeGraph, clock: FakeClock, openai_emu: OpenAIEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`LLM_FAILOVER_PACING=0` (or `pacing=False`): the spent primary is asked, and 429s."""
    if "env" in off:
        monkeypatch.setenv("LLM_FAILOVER_PACING", off.pop("env"))
    graph = graph_with(**off)
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    graph.invoke(HI)
    assert outcome(graph.invoke(HI)) == [("openai", "rate_limited"), ("ollama", None)]
    assert len(openai_emu.requests) == 2 and openai_emu.limited == 1


def test_a_bad_pacing_value_is_refused(make_graph: MakeGraph) -> None:
    """Only 1 and 0: anything else is a clear error when the graph is built."""
    with pytest.raises(ConfigError, match=r"LLM_FAILOVER_PACING: expected 1 \(on\) or 0"):
        make_graph(pacing="maybe")


def test_an_injected_client_goes_unpaced(
    make_graph: MakeGraph, clock: FakeClock, openai_emu: OpenAIEmulator
) -> None:
    """A client the app built reports no headers: its node is never paced (documented)."""
    client = ChatOpenAI(base_url=openai_emu.base_url, api_key=FAKE_KEY, max_retries=0)  # type: ignore[arg-type]
    graph = make_graph(models={"openai": client}, clock=clock.clock, circuit_store=MemoryStore())
    openai_emu.rate_limits(requests=1, window=60.0, now=clock.now)
    graph.invoke(HI)
    assert outcome(graph.invoke(HI)) == [("openai", "rate_limited"), ("ollama", None)]


def concurrent_graph(make_graph: MakeGraph, emu: OpenAIEmulator) -> Any:
    """A graph on the wall clock, a fresh store, and a primary allowing 5 requests a second."""
    emu.rate_limits(requests=5, tokens=10_000, window=1.0)
    return make_graph(circuit_store=MemoryStore(), timeout=5)


def check_served(states: list[dict[str, Any]], emu: OpenAIEmulator) -> None:
    """Every turn answered by the primary, at most one 429 on the way."""
    assert emu.limited <= 1
    assert [s["served_by"] for s in states] == ["openai"] * len(states)


def test_ten_threads_do_not_overspend_a_budget_of_five(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """10 sync turns at once against 5 a second: the cold start waits, then the reset."""
    graph = concurrent_graph(make_graph, openai_emu)
    states: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: states.append(graph.invoke(HI))) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(states) == 10
    check_served(states, openai_emu)
    assert ollama_emu.requests == []


async def test_ten_tasks_do_not_overspend_a_budget_of_five(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """The same for 10 async turns, gathered."""
    graph = concurrent_graph(make_graph, openai_emu)
    states = await asyncio.gather(*(graph.ainvoke(HI) for _ in range(10)))
    check_served(list(states), openai_emu)
    assert ollama_emu.requests == []
