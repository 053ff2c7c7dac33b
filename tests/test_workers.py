"""Several workers: two processes share a real PostgreSQL and a real Redis.

One thread's turns alternate between them (checkpoints in PostgreSQL), and what one
learns about a dead primary the other honours (circuits in Redis). The servers are the
session's (tests/servers.py: from the dev extra, or LLM_FAILOVER_TEST_PG_URL and
LLM_FAILOVER_TEST_REDIS_URL when set).
"""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg
import redis

from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok, quota
from tests.conftest import FAKE_KEY, ready_workers

WORKER = """
import json, sys
from langchain_core.messages import HumanMessage
from langgraph_failover import build_graph
from langgraph_failover.checkpoint import open_checkpointer
import os
graph = build_graph(checkpointer=open_checkpointer(os.environ["LLM_FAILOVER_CHECKPOINT_URL"]))
print("ready", flush=True)
for line in sys.stdin:
    thread, text = line.strip().split("|", 1)
    config = {"configurable": {"thread_id": thread}}
    state = graph.invoke({"messages": [HumanMessage(text)]}, config)
    print(json.dumps({"served_by": state["served_by"],
                      "attempts": [[a["provider"], a["error"]] for a in state["attempts"]],
                      "messages": [[m.type, m.content] for m in state["messages"]]}),
          flush=True)
"""


def test_two_workers_share_one_thread_and_what_they_learn(
    pg_url: str,
    redis_url: str,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
) -> None:
    """Alternating turns keep one history; a worker honours the other's open circuit."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")  # a clean database each run
        conn.execute("DROP TABLE IF EXISTS checkpoint_migrations")
    redis_client = redis.Redis.from_url(redis_url)
    for key in redis_client.scan_iter("llm-failover:circuit:*"):
        redis_client.delete(key)
    env = {
        **os.environ,
        "OPENAI_API_KEY": FAKE_KEY,
        "OPENAI_BASE_URL": openai_emu.base_url,
        "OLLAMA_BASE_URL": ollama_emu.base_url,
        "LLM_FAILOVER_CHECKPOINT_URL": pg_url,
        "LLM_FAILOVER_REDIS_URL": redis_url,
    }
    with ready_workers(WORKER, env) as workers:

        def turn(index: int, text: str, thread: str = "shared") -> dict[str, Any]:
            worker = workers[index % 2]
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(f"{thread}|{text}\n")
            worker.stdin.flush()
            return dict(json.loads(worker.stdout.readline()))

        openai_emu.always(ok())
        first = turn(0, "I'm Aiko")
        openai_emu.always(quota())
        second = turn(1, "What is は?")
        third = turn(2, "And が?")
        # worker A never saw the quota error itself: on a new thread (no sticky record)
        # only the circuit in Redis can tell it to skip the primary
        stranger = turn(0, "Hello", thread="another-user")
        openai_emu.always(ok())
        fourth = turn(3, "Thanks")
    assert [first["served_by"], second["served_by"], third["served_by"]] == [
        "openai", "ollama", "ollama"
    ]  # fmt: skip
    assert stranger["attempts"] == [["openai", "circuit_open"], ["ollama", None]]
    assert fourth["served_by"] == "ollama"  # the thread stays on the backup meanwhile
    assert len(openai_emu.requests) == 2  # one ok, one quota; none while open
    texts = [text for kind, text in fourth["messages"] if kind == "human"]
    assert texts == ["I'm Aiko", "What is は?", "And が?", "Thanks"]
    assert [kind for kind, _ in fourth["messages"]] == ["human", "ai"] * 4
