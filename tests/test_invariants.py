"""Invariants over any sequence of turns, provider faults and clock jumps (Hypothesis).

Each example drives the real graph (real SDK clients, the shipped emulators) through a
random sequence of turns on a few threads, sync, async or streamed, some sent two at once
on one thread (from two OS threads, or gathered on one event loop), each meeting a random
fault at OpenAI and at Ollama, with the fake clock jumping between them, and checks after
every turn what must hold whatever happened: every user message in its thread once, one answer per
answered turn, `served_by` the provider of the last successful attempt, `degraded` iff
the mock answered, and no request to a provider while the graph's own circuit for it is
open.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import build_graph
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import (
    Behaviour,
    FakeClock,
    OllamaEmulator,
    OpenAIEmulator,
    busy,
    context_length,
    empty,
    malformed,
    not_found,
    ok,
    quota,
    rate_limited,
    server_error,
    unauthorized,
    unterminated,
)
from tests.conftest import FAKE_KEY

FAULTS: dict[str, Behaviour] = {
    "ok": ok(),
    "quota": quota(),
    "rate_limited_short": rate_limited(retry_after=1),
    "rate_limited_long": rate_limited(retry_after=120),
    "rate_limited_bare": rate_limited(),
    "server_error": server_error(503),
    "busy": busy(),
    "unauthorized": unauthorized(),
    "not_found": not_found(),
    "empty": empty(),
    "malformed": malformed(after=1),
    "unterminated": unterminated(),
    "context_length": context_length(window=1000),
}
turns = st.tuples(
    st.just("turn"),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(sorted(FAULTS)),
    st.sampled_from(["ok", "ok", "server_error", "busy", "not_found"]),
    st.sampled_from(["invoke", "stream", "ainvoke", "threads", "gather"]),
)
jumps = st.tuples(st.just("advance"), st.sampled_from([1.0, 29.0, 31.0, 121.0, 301.0]))
events = st.lists(st.one_of(turns, turns, jumps), min_size=1, max_size=12)


class World:
    """One example's graph, clock, store and the truth each invariant is checked against."""

    def __init__(self, openai: OpenAIEmulator, ollama: OllamaEmulator) -> None:
        openai.reset()
        ollama.reset()
        self.openai, self.ollama = openai, ollama
        self.clock, self.store = FakeClock(), MemoryStore()
        self.graph = build_graph(
            checkpointer=InMemorySaver(), clock=self.clock.clock, circuit_store=self.store,
            openai_api_key=FAKE_KEY, openai_base_url=openai.base_url,
            ollama_base_url=ollama.base_url, timeout=2,
        )  # fmt: skip
        self.keys = {
            "openai": circuit_key("openai", openai.base_url, "gpt-4o-mini", FAKE_KEY),
            "ollama": circuit_key("ollama", ollama.base_url, "qwen2.5:0.5b", None),
        }
        self.sent: dict[str, list[str]] = {}

    def is_open(self, provider: str) -> bool:
        """Whether the graph's own circuit for `provider` is open right now."""
        record = self.store.get(self.keys[provider], self.clock.now())
        until = record["open_until"] if record else None
        return until is not None and self.clock.now() < until

    def turn(self, thread: str, at_openai: str, at_ollama: str, mode: str) -> None:
        """One turn (two at once for `threads` and `gather`), then every invariant."""
        self.openai.always(FAULTS[at_openai])
        self.ollama.always(FAULTS[at_ollama])
        closed = {p: not self.is_open(p) for p in self.keys}
        before = {"openai": len(self.openai.requests), "ollama": len(self.ollama.requests)}
        earlier = list(self.sent.get(thread, []))
        texts = [self.say(thread) for _ in range(2 if mode in ("threads", "gather") else 1)]
        for state in self.send(thread, texts, mode):
            self.check(state, earlier, self.sent[thread])
        for provider, emulator in (("openai", self.openai), ("ollama", self.ollama)):
            if not closed[provider]:
                assert len(emulator.requests) == before[provider], f"{provider} called open"

    def say(self, thread: str) -> str:
        """A new user message for `thread`, remembered as sent."""
        text = f"{thread}-{len(self.sent.setdefault(thread, []))}"
        self.sent[thread].append(text)
        return text

    def send(self, thread: str, texts: list[str], mode: str) -> list[dict[str, Any]]:
        """The final state of each turn, sent as `mode` says."""
        config: Any = {"configurable": {"thread_id": thread}}
        inputs = [{"messages": [HumanMessage(text)]} for text in texts]
        if mode == "invoke":
            return [self.graph.invoke(inputs[0], config)]
        if mode == "stream":
            return [list(self.graph.stream(inputs[0], config, stream_mode="values"))[-1]]
        if mode == "ainvoke":
            return [asyncio.run(self.graph.ainvoke(inputs[0], config))]
        if mode == "threads":
            with ThreadPoolExecutor(2) as pool:
                return list(pool.map(lambda i: self.graph.invoke(i, config), inputs))

        async def both() -> list[dict[str, Any]]:
            return list(await asyncio.gather(*(self.graph.ainvoke(i, config) for i in inputs)))

        return asyncio.run(both())

    def check(self, state: dict[str, Any], earlier: list[str], sent: list[str]) -> None:
        """The thread's messages and the turn's facts, as the invariants say.

        `earlier` were sent before this turn, `sent` up to and with it: a turn sent at
        once with another may or may not see the other's message, never lose an earlier one.
        """
        messages = state["messages"]
        asked = [m.content for m in messages if m.type == "human"]
        assert len(set(asked)) == len(asked)  # none twice
        assert set(earlier) <= set(asked) <= set(sent)  # none lost, none invented
        assert [m.type for m in messages] == ["human", "ai"] * len(asked)  # one answer each
        answered = [a for a in state["attempts"] if a["ok"]]
        assert len(answered) == 1 and state["attempts"][-1]["ok"]  # the answer ends the turn
        assert state["served_by"] == answered[-1]["provider"]
        assert state["degraded"] is (state["served_by"] == "mock")
        assert messages[-1].response_metadata["failover"]["served_by"] == state["served_by"]

    def check_thread(self, thread: str) -> None:
        """After all turns: the thread holds every message sent to it, once."""
        config: Any = {"configurable": {"thread_id": thread}}
        messages = self.graph.get_state(config).values["messages"]
        assert sorted(m.content for m in messages if m.type == "human") == sorted(self.sent[thread])


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every CI run; raise max_examples to explore
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events)
def test_invariants_hold_over_any_sequence(
    openai_server: OpenAIEmulator,
    ollama_server: OllamaEmulator,
    events: list[tuple[Any, ...]],
) -> None:
    """Random turns, faults and clock jumps: no message lost or doubled, facts consistent."""
    world = World(openai_server, ollama_server)
    for event in events:
        if event[0] == "advance":
            world.clock.advance(event[1])
        else:
            world.turn(*event[1:])
    for thread in world.sent:
        world.check_thread(thread)
