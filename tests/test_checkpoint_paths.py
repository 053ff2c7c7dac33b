"""Checkpoint locations given as `pathlib.Path`: `open_checkpointer` and the drop-in.

Real SQLite files, turns through the real OpenAI client against the emulator, sync and
async; the thread is read back from the file afterwards.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langgraph_failover import create_chat_model
from langgraph_failover.checkpoint import open_checkpointer, sqlite_checkpointer
from langgraph_failover.testing import OpenAIEmulator
from tests.conftest import MakeGraph

pytestmark = pytest.mark.usefixtures("app_env")


def threads_in(path: Path) -> set[str]:
    """The thread ids a SQLite checkpoint file holds."""
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")}


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_open_checkpointer_takes_a_path(
    mode: str, make_graph: MakeGraph, openai_emu: OpenAIEmulator, tmp_path: Path
) -> None:
    """A `Path` opens that SQLite file, which then holds the thread, sync and async."""
    path = tmp_path / "sub dir.sqlite"
    saver = open_checkpointer(path)
    try:
        graph = make_graph(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": f"t-{mode}"}}
        payload = {"messages": [HumanMessage("hi")]}
        state = (
            graph.invoke(payload, config)
            if mode == "invoke"
            else await graph.ainvoke(payload, config)
        )
        assert state["served_by"] == "openai"
    finally:
        saver.conn.close()
    assert threads_in(path) == {f"t-{mode}"}
    with sqlite_checkpointer(path) as again:  # a Path here too, and the turn is kept
        assert again.get_tuple(config) is not None


async def test_the_drop_in_takes_a_path_for_its_checkpoints(
    openai_emu: OpenAIEmulator, tmp_path: Path
) -> None:
    """`create_chat_model(checkpointer=Path)` keeps the thread in that file, sync and async."""
    path = tmp_path / "drop-in.sqlite"
    model = create_chat_model(thread_id="aiko", checkpointer=path)
    assert "reply to: hello" in str(model.invoke("hello").content)
    again = create_chat_model(thread_id="aiko", checkpointer=path)  # the same saver
    assert "reply to: and you?" in str((await again.ainvoke("and you?")).content)
    assert threads_in(path) == {"aiko"}
    assert len(openai_emu.requests[-1].messages) == 3  # the first turn came back from the file
