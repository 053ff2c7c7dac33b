"""Checkpointed sessions: failover mid-conversation, topology, SQLite round trips."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from langgraph_failover import MockChatModel
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator, busy, ok, quota
from tests.conftest import FAKE_KEY, MakeGraph

TURNS = [
    "Hi, I'm Aiko and particles confuse me.",
    "What does は mark?",
    "And が?",
    "Do you remember my name?",
]


def test_four_turn_session_fails_over_mid_conversation(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    checkpointer: BaseCheckpointSaver[Any],
) -> None:
    """Turns 1-2 on OpenAI, 3 on Ollama (quota), 4 on the mock: the whole history is kept."""
    graph = make_graph(checkpointer=checkpointer)
    config: Any = {"configurable": {"thread_id": "aiko"}}
    conditions = [(ok(), ok()), (ok(), ok()), (quota(), ok()), (quota(), busy())]
    for text, (primary, backup) in zip(TURNS, conditions, strict=True):
        openai_emu.always(primary)
        ollama_emu.always(backup)
        graph.invoke({"messages": [HumanMessage(text)]}, config)

    saved = checkpointer.get_tuple(config)
    assert saved is not None
    state = saved.checkpoint["channel_values"]
    messages = state["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage] * 4
    assert [m.content for m in messages[::2]] == TURNS
    assert len({m.id for m in messages}) == 8
    served = [m.response_metadata["failover"]["served_by"] for m in messages[1::2]]
    assert served == ["openai", "openai", "ollama", "mock"]
    assert messages[-1].response_metadata["failover"]["degraded"] is True
    assert state["served_by"] == "mock" and state["degraded"] is True
    # attempts are this turn's only, as plain dicts; the sticky thread skipped OpenAI,
    # whose circuit the quota error of turn 3 opened, so it got no 4th request
    assert [(a["provider"], a["error"]) for a in state["attempts"]] == [
        ("openai", "circuit_open"),
        ("ollama", "server_error"),
        ("mock", None),
    ]
    assert len(openai_emu.requests) == 3
    assert all(type(a) is dict for a in state["attempts"])
    # the backup got the whole conversation, including the turns OpenAI answered
    backup_request = ollama_emu.requests[0]
    assert [m["content"] for m in backup_request.messages] == [m.content for m in messages[:5]]
    assert [m["role"] for m in backup_request.messages] == ["user", "assistant"] * 2 + ["user"]


def test_topology_default_chain(make_graph: MakeGraph) -> None:
    """Each provider ends the turn, retries itself, or goes to any later one.

    A run may skip providers, and may leave the mock out: then it ends in all_failed.
    """
    edges = {(e.source, e.target, e.conditional, e.data) for e in make_graph().get_graph().edges}
    assert edges == {
        ("__start__", "openai", True, None),
        ("__start__", "ollama", True, None),
        ("__start__", "mock", True, None),
        ("openai", "openai", True, "retry"),
        ("ollama", "ollama", True, "retry"),
        ("openai", "ollama", True, None),
        ("openai", "mock", True, None),
        ("openai", "all_failed", True, None),
        ("openai", "__end__", True, "answered"),
        ("ollama", "mock", True, None),
        ("ollama", "all_failed", True, None),
        ("ollama", "__end__", True, "answered"),
        ("mock", "__end__", False, None),
        ("all_failed", "__end__", False, None),
    }


def test_topology_without_mock_ends_in_all_failed(make_graph: MakeGraph) -> None:
    """A chain without the mock ends in the all_failed node; duplicate providers get names."""
    graph = make_graph(fallback_provider="openai,ollama", fallback_model="gpt-4.1-nano")
    edges = {(e.source, e.target) for e in graph.get_graph().edges if e.source != e.target}
    assert edges == {
        ("__start__", "openai_gpt_4o_mini"),
        ("__start__", "openai_gpt_4_1_nano"),
        ("__start__", "ollama"),
        ("openai_gpt_4o_mini", "openai_gpt_4_1_nano"),
        ("openai_gpt_4o_mini", "ollama"),
        ("openai_gpt_4o_mini", "all_failed"),
        ("openai_gpt_4o_mini", "__end__"),
        ("openai_gpt_4_1_nano", "all_failed"),
        ("openai_gpt_4_1_nano", "ollama"),
        ("openai_gpt_4_1_nano", "__end__"),
        ("ollama", "all_failed"),
        ("ollama", "__end__"),
        ("all_failed", "__end__"),
    }


def test_same_provider_twice_each_model_is_called(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """The cheaper OpenAI model as first fallback is really called with its own model."""
    openai_emu.script(quota())
    graph = make_graph(fallback_provider="openai,mock", fallback_model="gpt-4.1-nano")
    state = graph.invoke({"messages": [("user", "hi")]})
    assert [(a["node"], a["ok"]) for a in state["attempts"]] == [
        ("openai_gpt_4o_mini", False),
        ("openai_gpt_4_1_nano", True),
    ]
    assert [r.model for r in openai_emu.requests] == ["gpt-4o-mini", "gpt-4.1-nano"]


def test_state_round_trips_through_sqlite(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, tmp_path: Path
) -> None:
    """A thread written by one graph and file handle reads back whole in a fresh one."""
    db = tmp_path / "threads.sqlite"
    config: Any = {"configurable": {"thread_id": "round-trip"}}
    openai_emu.script(ok(), quota())
    with sqlite3.connect(db, check_same_thread=False) as conn:
        first = make_graph(checkpointer=SqliteSaver(conn))
        first.invoke({"messages": [("user", "one")]}, config)
        before = first.invoke({"messages": [("user", "two")]}, config)
    with sqlite3.connect(db, check_same_thread=False) as conn:
        after = make_graph(checkpointer=SqliteSaver(conn)).get_state(config).values
    assert after["messages"] == before["messages"]
    assert after["attempts"] == before["attempts"]
    assert (after["served_by"], after["degraded"]) == ("ollama", False)
    assert FAKE_KEY not in db.read_bytes().decode("latin-1")


def test_scripted_mock_is_injected_at_build(make_graph: MakeGraph) -> None:
    """models= replaces a node's client: the scripted mock's tool call comes back unchanged."""
    call = {"name": "lookup", "args": {"word": "neko"}, "id": "c1", "type": "tool_call"}
    mock = MockChatModel(replies=[AIMessage("", tool_calls=[call])])
    graph = make_graph(provider="mock", fallback_provider="none", models={"mock": mock})
    state = graph.invoke({"messages": [("user", "look up neko")]})
    assert state["messages"][-1].tool_calls == [call]
    assert state["served_by"] == "mock"


def test_a_turn_writes_only_the_facts_that_changed(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A turn does not rewrite facts that kept their value; the state stays whole.

    Unchanged `served_by`, `degraded` and `sticky` are a blob fewer each per checkpoint.
    """
    clock = FakeClock()
    graph = make_graph(checkpointer=InMemorySaver(), clock=clock.clock,
                       circuit_store=MemoryStore())  # fmt: skip
    config: Any = {"configurable": {"thread_id": "facts"}}

    def turn(text: str) -> set[str]:
        written: set[str] = set()
        for update in graph.stream({"messages": [HumanMessage(text)]}, config,
                                   stream_mode="updates"):  # fmt: skip
            for node_update in update.values():
                written |= set(node_update or {})
        return written

    openai_emu.always(ok())
    ollama_emu.always(ok())
    assert turn("one") == {"messages", "attempts", "served_by", "degraded", "sticky"}
    assert turn("two") == {"messages", "attempts"}
    openai_emu.always(quota())
    assert turn("three") == {"messages", "attempts", "served_by", "sticky"}
    state = graph.get_state(config).values
    assert state["served_by"] == "ollama" and state["sticky"]["node"] == "ollama"
    assert turn("four") == {"messages", "attempts"}  # still on the backup, same facts
    clock.advance(3600)  # the quota cooldown is over: the thread goes back to OpenAI
    openai_emu.always(ok())
    assert turn("five") == {"messages", "attempts", "served_by", "sticky"}
    state = graph.get_state(config).values
    assert state["served_by"] == "openai" and state["sticky"] is None
    assert state["degraded"] is False and len(state["messages"]) == 10
