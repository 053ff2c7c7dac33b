"""Crash and resume: SIGKILL a real process while the backup answers, then finish the turn.

The failed primary attempt is checkpointed (SQLite) before the fallback is called, so
`graph.invoke(None, config)` in another process finishes the turn on the backup without
asking the primary again and without duplicating any message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from langgraph_failover import build_graph
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok, quota
from tests.conftest import FAKE_KEY, MakeGraph

CHILD = """
import sqlite3, sys
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph_failover import build_graph
saver = SqliteSaver(sqlite3.connect(sys.argv[1], check_same_thread=False))
graph = build_graph(checkpointer=saver)
graph.invoke({"messages": [("user", "Konnichiwa, I'm Aiko")]},
             {"configurable": {"thread_id": "crash"}})
print("finished", flush=True)
"""


def wait_for(predicate: Any, seconds: float = 30.0) -> None:
    """Poll until `predicate()` is true (fails the test after `seconds`)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the child process")
        time.sleep(0.01)


def test_sigkill_while_the_backup_answers_resumes_on_the_backup(
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kill -9 mid-fallback; invoke(None) finishes on Ollama; OpenAI is asked only once."""
    db = tmp_path / "threads.sqlite"
    openai_emu.always(quota())
    ollama_emu.script(ok("held", delay=60))  # the backup is answering when we kill
    env = {
        **os.environ,
        "OPENAI_API_KEY": FAKE_KEY,
        "OPENAI_BASE_URL": openai_emu.base_url,
        "OLLAMA_BASE_URL": ollama_emu.base_url,
        "LLM_FAILOVER_TIMEOUT": "120",
    }
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], env=env)
    try:
        wait_for(lambda: len(ollama_emu.requests) == 1 or child.poll() is not None)
        assert child.poll() is None, "the child ended before the backup was called"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        child.kill()

    for name, value in env.items():
        if name.startswith(("OPENAI_", "OLLAMA_", "LLM_")):
            monkeypatch.setenv(name, value)
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build_graph(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "crash"}}
        snapshot = graph.get_state(config)
        assert snapshot.next == ("ollama",)
        assert [(a["node"], a["error"]) for a in snapshot.values["attempts"]] == [
            ("openai", "insufficient_quota")
        ]
        ollama_emu.always(ok("resumed answer"))
        state = graph.invoke(None, config)

    assert len(openai_emu.requests) == 1  # the primary was not asked again
    assert len(ollama_emu.requests) == 2
    assert [(m.type, m.content) for m in state["messages"]] == [
        ("human", "Konnichiwa, I'm Aiko"),
        ("ai", "resumed answer"),
    ]
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [
        ("openai", "insufficient_quota"),
        ("ollama", None),
    ]
    assert state["served_by"] == "ollama"


class SlowSaver(InMemorySaver):
    """An in-memory checkpointer whose writes take a while, noting when each lands."""

    def __init__(self, ollama: OllamaEmulator) -> None:
        super().__init__()
        self.ollama = ollama
        self.backup_requests_at_failure_saved: list[int] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        """Write after a pause; note how many requests the backup had by then."""
        time.sleep(0.2)
        saved = super().put(config, checkpoint, metadata, new_versions)
        if checkpoint["channel_values"].get("attempts"):
            self.backup_requests_at_failure_saved.append(len(self.ollama.requests))
        return saved


@pytest.mark.parametrize(("durability", "before_backup"), [(None, True), ("exit", False)])
def test_failed_attempt_is_saved_before_the_backup_is_asked(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    durability: Any,
    before_backup: bool,
) -> None:
    """Durability defaults to "sync" (the failure is on disk first); a caller's choice wins."""
    openai_emu.always(quota())
    saver = SlowSaver(ollama_emu)
    graph = make_graph(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [("user", "hi")]}, config, durability=durability)
    assert graph.get_state(config).values["served_by"] == "ollama"
    first = saver.backup_requests_at_failure_saved[0]
    assert (first == 0) is before_backup
