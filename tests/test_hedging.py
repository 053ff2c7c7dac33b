"""Hedging: a primary whose first token is late races the next provider; one answers."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import ollama
import openai
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import create_chat_model
from langgraph_failover.errors import AllProvidersFailed, ConfigError
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.health.circuit import Circuit, circuit_key
from langgraph_failover.health.redis_store import RedisStore
from langgraph_failover.health.store import PROCESS_STORE, MemoryStore
from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    ok,
    server_error,
    slow_first_token,
)
from langgraph_failover.testing.server import Emulator
from tests.conftest import CALLERS, FAKE_KEY, MakeGraph, failover, run_turn

HEDGE = failover("openai", "ollama", "hedge")
OLLAMA_TEXT = "[ollama qwen2.5:0.5b] reply to: Tell me about particles"
OPENAI_TEXT = "[openai gpt-4o-mini] reply to: Tell me about particles"


def late_error(seconds: float) -> Any:
    """A 500 that comes `seconds` after the request: a provider failing while raced."""
    return dataclasses.replace(server_error(), delay=seconds)


async def turn(graph: Any, caller: str, thread: str = "t") -> tuple[dict[str, Any], list[Any]]:
    """One turn: the saved state, and what was streamed as (provider, text) or ("event", e).

    Tokens are told apart by the provider that made them (`llm_failover_provider`): a
    hedge's backup streams from inside the primary's graph node.
    """
    return await run_turn(graph, caller, "Tell me about particles", thread,
                          by="llm_failover_provider")  # fmt: skip


def tried(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(provider, error kind) of each attempt of the turn, in record order."""
    return [(a["provider"], a["error"]) for a in state["attempts"]]


def closed(emulator: Emulator) -> bool:
    """Whether the emulator has no request open, within a second (the client closed it)."""
    deadline = time.monotonic() + 1.0
    while emulator.open_requests and time.monotonic() < deadline:
        time.sleep(0.02)
    return emulator.open_requests == 0


def texts(seen: list[Any], provider: str) -> str:
    """All the text `provider` streamed."""
    return "".join(text for who, text in seen if who == provider)


@pytest.mark.parametrize("caller", CALLERS)
async def test_backup_wins_when_the_primary_is_slow(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, caller: str
) -> None:
    """First token 2 s late, hedge at 0.2 s: Ollama answers within a second, OpenAI cancelled."""
    openai_emu.script(slow_first_token(2))
    graph = make_graph(hedge_after=0.2, timeout=10, checkpointer=InMemorySaver())
    started = time.monotonic()
    state, seen = await turn(graph, caller)
    assert time.monotonic() - started < 1.5
    assert tried(state) == [("openai", "hedged"), ("ollama", None)]
    assert state["attempts"][0]["status_code"] is None
    assert state["messages"][-1].content == OLLAMA_TEXT
    assert (state["served_by"], state["degraded"], state.get("sticky")) == ("ollama", False, None)
    assert PROCESS_STORE.count() == 0  # the primary was slow, not failing: no record
    assert closed(openai_emu)  # its connection closed, not left to answer in 2 s
    if caller in ("stream", "astream"):
        at = seen.index(("event", HEDGE))
        assert texts(seen[:at], "ollama") == ""
        assert texts(seen, "openai") == ""
        assert texts(seen[at:], "ollama") == OLLAMA_TEXT


async def test_astream_events_show_the_hedge_before_the_backup_tokens(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """astream_events: the failover event, then only Ollama's tokens."""
    openai_emu.script(slow_first_token(2))
    graph = make_graph(hedge_after=0.2, timeout=10)
    order: list[tuple[str, Any]] = []
    payload = {"messages": [("user", "Tell me about particles")]}
    async for event in graph.astream_events(payload, version="v2"):
        if event["event"] == "on_custom_event" and event["name"] == "failover":
            order.append(("event", event["data"]))
        elif event["event"] == "on_chat_model_stream" and event["data"]["chunk"].content:
            order.append((event["metadata"]["llm_failover_provider"], "token"))
    assert order[0] == ("event", HEDGE)
    assert {who for who, _ in order[1:]} == {"ollama"}


@pytest.mark.parametrize("caller", CALLERS)
async def test_primary_wins_after_the_delay(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """Primary first token at 0.4 s, backup's at 2 s: no event, the backup cancelled."""
    openai_emu.script(slow_first_token(0.4))
    ollama_emu.script(slow_first_token(2))
    graph = make_graph(hedge_after=0.1, timeout=10, checkpointer=InMemorySaver())
    started = time.monotonic()
    state, seen = await turn(graph, caller)
    assert time.monotonic() - started < 1.5
    assert tried(state) == [("ollama", "hedged"), ("openai", None)]  # the answer last
    assert state["messages"][-1].content == OPENAI_TEXT
    assert state["served_by"] == "openai"
    assert len(ollama_emu.requests) == 1  # the backup was asked...
    assert closed(ollama_emu)  # ...and cancelled
    assert [p for who, p in seen if who == "event"] == []
    assert texts(seen, "ollama") == ""
    if caller in ("stream", "astream"):
        assert texts(seen, "openai") == OPENAI_TEXT


@pytest.mark.parametrize("caller", CALLERS)
async def test_healthy_primary_costs_the_backup_nothing(
    make_graph: MakeGraph, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """A primary answering within the delay: zero requests to the backup, one attempt.

    The delay is long beside a healthy answer here (a loaded CI machine's first request
    can take over 0.3 s); the benchmark measures the short one.
    """
    graph = make_graph(hedge_after=2.0, checkpointer=InMemorySaver())
    for number in range(3):
        state, _ = await turn(graph, caller, thread=f"healthy-{number}")
        assert tried(state) == [("openai", None)]
    assert ollama_emu.requests == []


@pytest.mark.parametrize("narrowed", ["by the chain", "by the run's providers"])
async def test_the_mock_is_never_a_hedge_target(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, narrowed: str
) -> None:
    """Route openai,mock (built so, or a run's choice): the slow primary is waited for."""
    openai_emu.script(slow_first_token(0.6))
    chain = {"fallback_provider": "mock"} if narrowed == "by the chain" else {}
    graph = make_graph(hedge_after=0.1, **chain)
    state = await graph.ainvoke(
        {"messages": [("user", "hi")]}, context={"providers": ["openai", "mock"]}
    )
    assert tried(state) == [("openai", None)]
    assert ollama_emu.requests == []


async def test_a_hedged_probe_gives_its_claim_back(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, store: MemoryStore
) -> None:
    """The primary's probe, cancelled by the hedge: no verdict, and the next call may probe."""
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    now = time.time()
    record: Circuit = {"failures": 3, "open_until": now - 1, "reason": "server_error"}
    store.update(key, now, lambda _: (record, 120.0))
    openai_emu.script(slow_first_token(2))
    graph = make_graph(hedge_after=0.2, circuit_store=store, timeout=10)
    state = await graph.ainvoke({"messages": [("user", "hi")]})
    assert tried(state) == [("openai", "hedged"), ("ollama", None)]
    assert state["attempts"][0]["probe"] is True
    assert store.get(key) == record  # untouched: neither closed nor opened again
    assert store.admit(key, time.time(), 1.0)[0] == "probe"  # the claim was released


@pytest.mark.parametrize("admission", ["open", "probe"])
async def test_no_hedge_into_an_open_circuit_or_a_probe(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    store: MemoryStore,
    admission: str,
) -> None:
    """Ollama's circuit open, or due a probe: the slow primary is waited for, Ollama not asked."""
    key = circuit_key("ollama", ollama_emu.base_url, "qwen2.5:0.5b", None)
    now = time.time()
    until = now + 60 if admission == "open" else now - 1  # a cooldown over: probe next
    record: Circuit = {"failures": 3, "open_until": until, "reason": "server_error"}
    store.update(key, now, lambda _: (record, 120.0))
    openai_emu.script(slow_first_token(0.6))
    graph = make_graph(hedge_after=0.1, circuit_store=store, checkpointer=InMemorySaver())
    state, _ = await turn(graph, "ainvoke")
    assert tried(state) == [("openai", None)]
    assert ollama_emu.requests == []
    assert store.admit(key, now, 1.0)[0] == ("skip" if admission == "open" else "probe")


@pytest.mark.parametrize("caller", ["invoke", "astream"])
async def test_primary_failing_while_the_backup_runs_is_a_plain_failover(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """A 500 at 0.4 s while the hedge runs: reason server_error, counted, no "hedge" event."""
    openai_emu.script(late_error(0.4))
    ollama_emu.script(slow_first_token(0.8))
    graph = make_graph(hedge_after=0.1, checkpointer=InMemorySaver())
    state, seen = await turn(graph, caller)
    assert tried(state) == [("openai", "server_error"), ("ollama", None)]
    assert state["served_by"] == "ollama"
    if caller == "astream":
        at = seen.index(("event", failover("openai", "ollama", "server_error")))
        assert ("event", HEDGE) not in seen
        assert texts(seen[:at], "ollama") == "" and texts(seen, "ollama") == OLLAMA_TEXT


@pytest.mark.parametrize("caller", ["invoke", "ainvoke"])
async def test_backup_failing_first_leaves_the_primary_to_answer(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """Ollama's 500 during the hedge is recorded; OpenAI still answers, last."""
    openai_emu.script(slow_first_token(0.5))
    ollama_emu.script(server_error())
    graph = make_graph(hedge_after=0.1, checkpointer=InMemorySaver())
    state, _ = await turn(graph, caller)
    assert tried(state) == [("ollama", "server_error"), ("openai", None)]
    assert state["served_by"] == "openai"


@pytest.mark.parametrize("caller", ["invoke", "astream"])
async def test_both_failing_goes_on_after_the_backup(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, caller: str
) -> None:
    """Both fail during the hedge: the mock answers next, announced from Ollama."""
    openai_emu.script(late_error(0.3))
    ollama_emu.script(late_error(0.4))
    graph = make_graph(hedge_after=0.1, checkpointer=InMemorySaver())
    state, seen = await turn(graph, caller)
    assert tried(state) == [("openai", "server_error"), ("ollama", "server_error"),
                            ("mock", None)]  # fmt: skip
    assert state["degraded"] is True
    if caller == "astream":
        assert [p for who, p in seen if who == "event"] == [
            failover("openai", "ollama", "server_error"),
            failover("ollama", "mock", "server_error"),
        ]


async def test_both_failing_without_the_mock_names_both(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Chain openai,ollama: AllProvidersFailed names OpenAI's and Ollama's errors."""
    openai_emu.script(late_error(0.3))
    ollama_emu.script(late_error(0.2))
    graph = make_graph(fallback_provider="ollama", hedge_after=0.1)
    with pytest.raises(AllProvidersFailed) as raised:
        await graph.ainvoke({"messages": [("user", "hi")]})
    assert [a["provider"] for a in raised.value.attempts] == ["openai", "ollama"]
    assert "openai" in str(raised.value) and "ollama" in str(raised.value)


def test_steady_tokens_before_the_delay_are_not_hedged(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A slow but streaming answer (first token at once) is never hedged, however long."""
    openai_emu.script(ok("one two three four five", every=0.1))
    state = make_graph(hedge_after=0.1).invoke({"messages": [("user", "hi")]})
    assert tried(state) == [("openai", None)]
    assert ollama_emu.requests == []


@pytest.mark.usefixtures("app_env")
async def test_drop_in_model_relays_the_hedge(
    openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drop-in model's stream, hedge set by its variable: the flagged event, then Ollama's."""
    monkeypatch.setenv("LLM_FAILOVER_HEDGE_AFTER", "openai=0.2")
    openai_emu.script(slow_first_token(2))
    chunks = [c async for c in create_chat_model().astream("tell me")]
    (at,) = [i for i, c in enumerate(chunks) if "failover_events" in c.response_metadata]
    assert chunks[at].response_metadata["failover_events"] == [HEDGE]
    assert "".join(str(c.content) for c in chunks[:at]) == ""
    assert "".join(str(c.content) for c in chunks[at:]) == "[ollama qwen2.5:0.5b] reply to: tell me"


def hedges_of(**overrides: Any) -> list[tuple[str, float | None]]:
    """(node, hedge delay) of each link of the default chain."""
    settings = load_settings({}, openai_api_key=FAKE_KEY, **overrides)
    return [(s.node, s.hedge_after) for s in settings.chain]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, [("openai", None), ("ollama", None), ("mock", None)]),
        ("0.3", [("openai", 0.3), ("ollama", 0.3), ("mock", 0.3)]),
        ("openai=0.5", [("openai", 0.5), ("ollama", None), ("mock", None)]),
        ({"ollama": 2}, [("openai", None), ("ollama", 2.0), ("mock", None)]),
        ("0", [("openai", None), ("ollama", None), ("mock", None)]),
    ],
)
def test_hedge_after_is_parsed_by_name(value: Any, expected: Any) -> None:
    """Off when unset or 0; one number for all, or by provider or node name."""
    assert hedges_of(hedge_after=value) == expected


@pytest.mark.parametrize("value", ["opnai=1", "soon", "-1", "openai=inf"])
def test_bad_hedge_after_is_refused(value: str) -> None:
    """A bad name or number is refused at build time, naming the variable and the value."""
    with pytest.raises(ConfigError, match="LLM_FAILOVER_HEDGE_AFTER"):
        load_settings({"OPENAI_API_KEY": FAKE_KEY, "LLM_FAILOVER_HEDGE_AFTER": value})


async def test_a_turn_entered_past_an_open_circuit_keeps_its_skip_first(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, store: MemoryStore
) -> None:
    """Groq's circuit open: the turn enters at OpenAI, which is hedged; the skip stays first."""
    key = circuit_key("groq", openai_emu.base_url, "llama-x", FAKE_KEY)
    now = time.time()
    record: Circuit = {"failures": 3, "open_until": now + 60, "reason": "server_error"}
    store.update(key, now, lambda _: (record, 120.0))
    openai_emu.script(slow_first_token(2))  # OpenAI's request: Groq's node makes none
    graph = make_graph(provider="groq", model="llama-x", groq_api_key=FAKE_KEY,
                       groq_base_url=openai_emu.base_url, fallback_provider="openai,ollama,mock",
                       hedge_after=0.2, timeout=10, circuit_store=store,
                       checkpointer=InMemorySaver())  # fmt: skip
    state, seen = await turn(graph, "astream")
    assert tried(state) == [("groq", "circuit_open"), ("openai", "hedged"), ("ollama", None)]
    assert [p["reason"] for who, p in seen if who == "event"] == ["circuit_open", "hedge"]
    assert texts(seen, "ollama") == OLLAMA_TEXT


@pytest.mark.parametrize("caller", ["invoke", "ainvoke"])
async def test_hedging_with_circuits_in_redis(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    isolated_url: str,
    caller: str,
) -> None:
    """Through Redis: the backup is raced while its circuit is closed, not once it is open."""
    graph = make_graph(hedge_after=0.2, timeout=10, redis_url=isolated_url,
                       checkpointer=InMemorySaver())  # fmt: skip
    openai_emu.script(slow_first_token(2))
    state, _ = await turn(graph, caller, thread="closed")
    assert tried(state) == [("openai", "hedged"), ("ollama", None)]
    key = circuit_key("ollama", ollama_emu.base_url, "qwen2.5:0.5b", None)
    record: Circuit = {"failures": 3, "open_until": time.time() + 60, "reason": "server_error"}
    RedisStore(isolated_url).update(key, time.time(), lambda _: (record, 120.0))
    openai_emu.script(slow_first_token(0.6))
    state, _ = await turn(graph, caller, thread="open")
    assert tried(state) == [("openai", None)]
    assert len(ollama_emu.requests) == 1  # the first turn's only


async def test_a_primary_error_that_is_raised_cancels_the_backup(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A 400 from the primary while the hedge runs: raised at once, the backup's call closed."""
    openai_emu.script(dataclasses.replace(bad_request(), delay=0.4))
    ollama_emu.script(slow_first_token(2))
    graph = make_graph(hedge_after=0.1, timeout=10)
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError):
        await graph.ainvoke({"messages": [("user", "hi")]})
    assert time.monotonic() - started < 1.5
    assert len(ollama_emu.requests) == 1 and closed(ollama_emu)


def test_a_backup_error_that_would_be_raised_leaves_the_primary_to_answer(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 400 from the backup while the primary is slow: the primary's answer stands, logged."""
    openai_emu.script(slow_first_token(0.5))
    ollama_emu.script(bad_request())
    state = make_graph(hedge_after=0.1).invoke({"messages": [("user", "hi")]})
    assert tried(state) == [("openai", None)]  # no error kind says what the backup's was
    assert "hedge backup ollama raised" in caplog.text


async def test_a_backup_error_is_raised_once_the_primary_fails_too(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Backup 400, then the primary's 500: the 400 is raised, as without the hedge."""
    openai_emu.script(late_error(0.4))
    ollama_emu.script(bad_request())
    with pytest.raises(ollama.ResponseError):
        await make_graph(hedge_after=0.1).ainvoke({"messages": [("user", "hi")]})


async def test_a_caller_giving_up_closes_both_calls(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """The app's own deadline passes mid-race: both providers' connections are closed."""
    openai_emu.script(slow_first_token(3))
    ollama_emu.script(slow_first_token(3))
    graph = make_graph(hedge_after=0.1, timeout=10)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await graph.ainvoke({"messages": [("user", "hi")]})
    assert closed(openai_emu) and closed(ollama_emu)
