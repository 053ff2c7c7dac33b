"""Two turns at once on one thread: serialised, both kept in order, or refused in time.

The later turn waits for the earlier one and runs on the updated thread (its request
carries the earlier turn); a turn kept waiting longer than a whole turn may take is
refused with `ThreadBusy` before any provider is called. Sync and async callers, the
drop-in model, and worker processes sharing PostgreSQL all wait for each other.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import ThreadBusy, create_chat_model, server
from langgraph_failover.checkpoint import open_postgres, open_sqlite
from langgraph_failover.graph.advisory import LOCK_NAMESPACE, lock_key
from langgraph_failover.graph.guarded import GuardedGraph
from langgraph_failover.graph.turns import TURNS
from langgraph_failover.postgres import PostgresCheckpointer
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok
from langgraph_failover.testing.wire import content_text
from tests.conftest import FAKE_KEY, MakeGraph

SLOW = ok(delay=0.3)  # long enough for the second turn to arrive mid-way through the first


def answer(text: str) -> str:
    """The OpenAI emulator's echo answer to `text`."""
    return f"[openai gpt-4o-mini] reply to: {text}"


def assert_both_turns(messages: list[Any], openai_emu: OpenAIEmulator, a: str, b: str) -> None:
    """Both questions and answers, each once, in one order; the later turn saw the first."""
    got = [(m.type, m.content) for m in messages]
    one, two = (a, b) if got and got[0][1] == a else (b, a)
    assert got == [("human", one), ("ai", answer(one)), ("human", two), ("ai", answer(two))]
    later = [content_text(m["content"]) for m in openai_emu.requests[-1].messages]
    assert later == [one, answer(one), two]
    assert len(TURNS) == 0  # no lock entry outlives its turns


def asked(emulator: OpenAIEmulator) -> list[str]:
    """The question each request to the emulator asked (its last message's text)."""
    return [content_text(r.messages[-1]["content"]) for r in emulator.requests]


def config(thread: str) -> Any:
    """A run config for `thread`."""
    return {"configurable": {"thread_id": thread}}


def test_two_os_threads_on_one_thread_keep_both_turns(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, checkpointer: BaseCheckpointSaver[Any]
) -> None:
    """Two OS threads invoking at once: both turns kept, the second after the first."""
    graph = make_graph(checkpointer=checkpointer)
    openai_emu.always(SLOW)
    start = threading.Barrier(2)

    def send(text: str) -> None:
        start.wait()
        graph.invoke({"messages": [("user", text)]}, config("t"))

    workers = [threading.Thread(target=send, args=(text,)) for text in ("Hi", "Bye")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert_both_turns(graph.get_state(config("t")).values["messages"], openai_emu, "Hi", "Bye")


async def test_asyncio_gather_on_one_thread_keeps_both_turns(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """`asyncio.gather` of two `ainvoke`s: both turns kept, the second after the first."""
    graph = make_graph(checkpointer=InMemorySaver())
    openai_emu.always(SLOW)
    await asyncio.gather(
        graph.ainvoke({"messages": [("user", "Hi")]}, config("t")),
        graph.ainvoke({"messages": [("user", "Bye")]}, config("t")),
    )
    state = await graph.aget_state(config("t"))
    assert_both_turns(state.values["messages"], openai_emu, "Hi", "Bye")


async def test_a_sync_and_an_async_caller_wait_for_each_other(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """A Flask-style `invoke` in a thread and a FastAPI-style `ainvoke` share the lock."""
    graph = make_graph(checkpointer=InMemorySaver())
    openai_emu.always(SLOW)
    await asyncio.gather(
        asyncio.to_thread(graph.invoke, {"messages": [("user", "Hi")]}, config("t")),
        graph.ainvoke({"messages": [("user", "Bye")]}, config("t")),
    )
    state = await graph.aget_state(config("t"))
    assert_both_turns(state.values["messages"], openai_emu, "Hi", "Bye")


@pytest.mark.usefixtures("app_env")
async def test_drop_in_model_with_a_thread_keeps_both_turns(openai_emu: OpenAIEmulator) -> None:
    """Two `ainvoke`s of `create_chat_model(thread_id=...)` at once: both turns kept."""
    model = create_chat_model(thread_id="shop")
    openai_emu.always(SLOW)
    replies = await asyncio.gather(model.ainvoke("Hi"), model.ainvoke("Bye"))
    assert sorted(r.content for r in replies) == [answer("Bye"), answer("Hi")]
    state = model.graph.get_state(config("shop"))
    assert_both_turns(state.values["messages"], openai_emu, "Hi", "Bye")


@pytest.mark.usefixtures("app_env")
def test_drop_in_stream_and_invoke_from_two_threads_keep_both_turns(
    openai_emu: OpenAIEmulator,
) -> None:
    """The drop-in's `stream` in one OS thread and `invoke` in another: both kept."""
    model = create_chat_model(thread_id="shop")
    openai_emu.always(SLOW)
    streamer = threading.Thread(target=lambda: list(model.stream("Hi")))
    streamer.start()
    time.sleep(0.1)  # the stream holds the thread when invoke arrives
    model.invoke("Bye")
    streamer.join(timeout=30)
    state = model.graph.get_state(config("shop"))
    assert_both_turns(state.values["messages"], openai_emu, "Hi", "Bye")


def test_a_turn_kept_waiting_too_long_is_refused_naming_the_thread(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """A stalled stream holds the thread; the next turn is refused after the bound, unasked."""
    graph = make_graph(checkpointer=InMemorySaver(), turn_budget=0.5, timeout=0.5)
    held = graph.stream({"messages": [("user", "Hi")]}, config("busy-one"))
    next(held)  # a caller reading the stream slowly keeps the turn going
    started = time.monotonic()
    with pytest.raises(ThreadBusy, match=r"thread 'busy-one' is busy: .* within 1s"):
        graph.invoke({"messages": [("user", "Bye")]}, config("busy-one"))
    assert 0.9 < time.monotonic() - started < 5
    assert asked(openai_emu) in ([], ["Hi"])  # the refused turn called no provider
    list(held)  # the first turn finishes; then the thread takes turns again
    graph.invoke({"messages": [("user", "Bye")]}, config("busy-one"))
    assert_both_turns(
        graph.get_state(config("busy-one")).values["messages"], openai_emu, "Hi", "Bye"
    )


async def test_async_wait_is_bounded_and_a_cancelled_waiter_leaves_no_trace(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """`ainvoke` is refused after the bound; a waiter cancelled mid-wait holds nothing."""
    graph = make_graph(checkpointer=InMemorySaver(), turn_budget=0.5, timeout=0.5)
    held = graph.astream({"messages": [("user", "Hi")]}, config("t"))
    await anext(held)
    with pytest.raises(ThreadBusy, match="thread 't' is busy"):
        await graph.ainvoke({"messages": [("user", "Bye")]}, config("t"))
    assert asked(openai_emu) in ([], ["Hi"])
    waiter = asyncio.ensure_future(graph.ainvoke({"messages": [("user", "Gone")]}, config("t")))
    await asyncio.sleep(0.1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async for _ in held:
        pass
    await graph.ainvoke({"messages": [("user", "Bye")]}, config("t"))
    state = await graph.aget_state(config("t"))
    assert_both_turns(state.values["messages"], openai_emu, "Hi", "Bye")


def test_other_threads_do_not_wait(make_graph: MakeGraph, openai_emu: OpenAIEmulator) -> None:
    """A held thread does not hold another thread's turn."""
    graph = make_graph(checkpointer=InMemorySaver(), turn_budget=8, timeout=2)
    held = graph.stream({"messages": [("user", "Hi")]}, config("one"))
    next(held)
    started = time.monotonic()
    graph.invoke({"messages": [("user", "Bye")]}, config("two"))
    assert time.monotonic() - started < 5  # well within the 10 s bound: it never waited
    held.close()
    assert len(TURNS) == 0


def test_the_bound_is_a_whole_turn_and_copies_keep_the_guard(make_graph: MakeGraph) -> None:
    """turn_wait = turn budget + timeout, on the graph, its copies and the served graph."""
    graph = make_graph(checkpointer=InMemorySaver(), turn_budget=7, timeout=3)
    for copy in (graph, graph.with_config(run_name="x"), graph.copy()):
        assert isinstance(copy, GuardedGraph)
        assert copy.turn_wait == 10
    assert isinstance(server.graph, GuardedGraph)  # what `langgraph dev` loads


WORKER = """
import json, os, sys
from langgraph_failover import build_graph
from langgraph_failover.checkpoint import open_checkpointer
graph = build_graph(checkpointer=open_checkpointer(os.environ["LLM_FAILOVER_CHECKPOINT_URL"]))
print("ready", flush=True)
for line in sys.stdin:
    thread, text = line.rstrip("\\n").split("|", 1)
    try:
        graph.invoke({"messages": [("user", text)]}, {"configurable": {"thread_id": thread}})
        print(json.dumps({"ok": True}), flush=True)
    except Exception as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
"""


@contextmanager
def postgres(url: str) -> Iterator[PostgresCheckpointer]:
    """`open_postgres`, its pool closed at the end."""
    saver = open_postgres(url)
    try:
        yield saver
    finally:
        saver.conn.close()


def test_two_worker_processes_on_postgres_keep_both_turns(
    pg_url: str, make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Two processes sharing PostgreSQL send a turn each at once: both kept, in order."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": FAKE_KEY,
        "OPENAI_BASE_URL": openai_emu.base_url,
        "OLLAMA_BASE_URL": ollama_emu.base_url,
        "LLM_FAILOVER_CHECKPOINT_URL": pg_url,
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER], env=env, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(2)
    ]  # fmt: skip
    thread = f"pg-{uuid.uuid4()}"
    openai_emu.always(ok(delay=0.5))
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker, text in zip(workers, ("Hi", "Bye"), strict=True):
            assert worker.stdin is not None
            worker.stdin.write(f"{thread}|{text}\n")
            worker.stdin.flush()
        results = [json.loads(w.stdout.readline()) for w in workers if w.stdout is not None]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=10)
    assert results == [{"ok": True}, {"ok": True}]
    with postgres(pg_url) as saver:
        state = make_graph(checkpointer=saver).get_state(config(thread))
    assert_both_turns(state.values["messages"], openai_emu, "Hi", "Bye")


def test_a_thread_held_by_another_worker_is_refused_in_time(
    pg_url: str, make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """Another process's advisory lock on the thread: refused after the bound, unasked."""
    thread = f"pg-{uuid.uuid4()}"
    with postgres(pg_url) as saver, psycopg.connect(pg_url, autocommit=True) as other:
        graph = make_graph(checkpointer=saver, turn_budget=0.5, timeout=0.5)
        other.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, lock_key(thread)))
        with pytest.raises(ThreadBusy, match="is busy"):
            graph.invoke({"messages": [("user", "Hi")]}, config(thread))
        assert openai_emu.requests == []
        assert len(TURNS) == 0
        other.execute("SELECT pg_advisory_unlock_all()")
        state = graph.invoke({"messages": [("user", "Hi")]}, config(thread))
    assert [m.content for m in state["messages"]] == ["Hi", answer("Hi")]


@pytest.mark.usefixtures("app_env")
def test_batch_on_a_thread_keeps_every_turn(tmp_path: Path) -> None:
    """batch() with a thread runs its calls one after another: nothing overwritten."""
    saver = open_sqlite(tmp_path / "b.sqlite")
    model = create_chat_model(thread_id="batch", checkpointer=saver)
    answers = model.batch(["first", "second", "third"])
    assert [str(a.content).rsplit(" ", 1)[-1] for a in answers] == ["first", "second", "third"]
    stored = saver.get_tuple({"configurable": {"thread_id": "batch"}})
    assert stored is not None
    assert len(stored.checkpoint["channel_values"]["messages"]) == 6
