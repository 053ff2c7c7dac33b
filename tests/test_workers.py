"""Several workers: two processes share a real PostgreSQL and a real Redis.

One thread's turns alternate between them (checkpoints in PostgreSQL), and what one
learns about a dead primary the other honours (circuits in Redis). `.ci/run` installs
and starts both (Debian's packages) and exports their URLs; elsewhere the fixtures start
them from the installed binaries, or the test skips (under CI a missing server fails).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A running PostgreSQL: CI's, or one started here as the postgres user."""
    if url := os.environ.get("LLM_FAILOVER_TEST_PG_URL"):
        yield url
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    runuser = shutil.which("runuser")
    if not found or runuser is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing: .ci/run should install and start it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = os.path.dirname(found[-1])
    data = tempfile.mkdtemp(prefix="langgraph-failover-pg-")
    shutil.chown(data, "postgres")
    port = _free_port()

    def as_postgres(*args: str) -> None:
        subprocess.run([runuser, "-u", "postgres", "--", *args], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip

    as_postgres(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres")
    as_postgres(f"{bindir}/pg_ctl", "-D", data, "-o", f"-p {port} -k {data} -h 127.0.0.1",
                "-w", "start")  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_two_workers_share_one_thread_and_what_they_learn(
    postgres_url: str,
    redis_url: str,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
) -> None:
    """Alternating turns keep one history; a worker honours the other's open circuit."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
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
        "LLM_FAILOVER_CHECKPOINT_URL": postgres_url,
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
