"""The circuit store fails open: a Redis that is down, hung or holds garbage never costs a turn.

Each test runs the real graph against the emulators with a private redis-server it may
kill and restart, a socket that accepts and never answers, or a closed port; sync and
async callers alike.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from langchain_core.messages import HumanMessage

from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.redis_store import RedisStore
from langgraph_failover.health.store import make_store
from langgraph_failover.testing import OpenAIEmulator, quota
from tests.conftest import FAKE_KEY, MakeGraph, RedisServer, free_port

BACKOFF = 0.3  # seconds between probes of a down Redis, short so the test can wait it out
MODES = ["sync", "async"]


async def ask(graph: FailoverGraph, text: str, mode: str) -> Any:
    """One turn, through `invoke` or `ainvoke`."""
    turn = {"messages": [HumanMessage(text)]}
    return graph.invoke(turn) if mode == "sync" else await graph.ainvoke(turn)


def route(state: Any) -> list[tuple[str, str | None]]:
    """The turn's attempts as (node, error) pairs."""
    return [(a["node"], a["error"]) for a in state["attempts"]]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The WARNING lines our logger wrote about the circuit store (not failover events)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "langgraph_failover"
        and r.levelno == logging.WARNING
        and r.getMessage().startswith("circuit store")
    ]


class HungServer:
    """A "Redis" that accepts connections and reads for ever, never answering."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://:hunter2@127.0.0.1:{self._sock.getsockname()[1]}/0"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            self.accepted.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self._sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def hung() -> Iterator[HungServer]:
    """A hung "Redis" on a free port."""
    server = HungServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The log capture, recording our logger from INFO up."""
    caplog.set_level(logging.INFO, logger="langgraph_failover")
    return caplog


@pytest.mark.parametrize("mode", MODES)
async def test_redis_killed_mid_run_then_back(
    mode: str,
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    redis_server: RedisServer,
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    """Killed: turns go on with in-process circuits, one WARNING; restarted: Redis again."""
    graph = make_graph(circuit_store=make_store(redis_server.url, backoff=BACKOFF))
    assert route(await ask(graph, "before", mode)) == [("openai", None)]
    redis_server.stop()
    for i in range(4):
        assert route(await ask(graph, f"down {i}", mode)) == [("openai", None)]
    openai_emu.script(quota())  # a circuit opened during the outage is honoured in process
    assert route(await ask(graph, "quota", mode))[0] == ("openai", "insufficient_quota")
    assert route(await ask(graph, "skips", mode))[0] == ("openai", "circuit_open")
    assert len(openai_emu.requests) == 6
    [warning] = warnings(caplog_info)
    assert redis_server.url.split("//")[1] in warning and "unavailable" in warning

    redis_server.start()
    time.sleep(BACKOFF + 0.1)
    openai_emu.always(quota())
    # Redis knows nothing of the in-process circuit: asked again, the primary is called,
    # and the circuit its quota error opens is written to Redis.
    assert route(await ask(graph, "back", mode))[0] == ("openai", "insufficient_quota")
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    assert RedisStore(redis_server.url).get(key) is not None
    assert len(warnings(caplog_info)) == 1
    assert sum("answers again" in r.getMessage() for r in caplog_info.records) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_hung_redis_costs_one_timeout_per_outage(
    mode: str, make_graph: MakeGraph, hung: HungServer, caplog_info: pytest.LogCaptureFixture
) -> None:
    """A Redis that never answers: every turn answered, ten in well under 3 s, asked once."""
    graph = make_graph(redis_url=hung.url)
    started = time.monotonic()
    for i in range(10):
        assert route(await ask(graph, f"turn {i}", mode)) == [("openai", None)]
    assert time.monotonic() - started < 3  # ten timeouts of 0.5 s would be 5 s
    assert 1 <= len(hung.accepted) <= 2  # asked once, not once per turn
    [warning] = warnings(caplog_info)
    assert "Timeout" in warning and "hunter2" not in caplog_info.text


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_redis_never_blocks_a_turn(
    mode: str, make_graph: MakeGraph, caplog_info: pytest.LogCaptureFixture
) -> None:
    """A closed port: turns answered, one WARNING naming the host, the password masked."""
    port = free_port()
    graph = make_graph(redis_url=f"redis://admin:hunter2@127.0.0.1:{port}/0")
    for i in range(3):
        assert route(await ask(graph, f"turn {i}", mode)) == [("openai", None)]
    [warning] = warnings(caplog_info)
    assert f"redis://***@127.0.0.1:{port}/0" in warning and "ConnectionError" in warning
    assert "hunter2" not in caplog_info.text


async def test_graphs_on_one_redis_share_one_outage(
    make_graph: MakeGraph, caplog_info: pytest.LogCaptureFixture
) -> None:
    """Two graphs built on one unreachable URL (the drop-in builds several): one WARNING."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    first, second = make_graph(redis_url=url), make_graph(redis_url=url, timeout=1)
    for graph in (first, second, first, second):
        assert route(await ask(graph, "hi", "async")) == [("openai", None)]
    assert len(warnings(caplog_info)) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("garbage", ["not json", '{"failures": "x"}', "5", "hash"])
async def test_garbage_at_a_circuit_key_reads_as_closed(
    mode: str,
    garbage: str,
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    redis_server: RedisServer,
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    """A value that is no record of ours: the turn calls the primary, warns once, repairs it."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    key = "llm-failover:circuit:" + circuit_key(
        "openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY
    )
    if garbage == "hash":
        client.hset(key, "failures", "1")  # the wrong Redis type: GET says WRONGTYPE
    else:
        client.set(key, garbage)
    graph = make_graph(redis_url=redis_server.url)
    for i in range(2):
        assert route(await ask(graph, f"turn {i}", mode)) == [("openai", None)]
    assert len(warnings(caplog_info)) == 1 and "not a circuit record" in caplog_info.text
    openai_emu.script(quota())
    await ask(graph, "quota", mode)
    assert client.type(key) == "string"
    assert RedisStore(redis_server.url).get(key.removeprefix("llm-failover:circuit:")) == {
        "failures": 0,
        "open_until": pytest.approx(time.time() + 300, abs=30),
        "reason": "insufficient_quota",
        "since": pytest.approx(time.time(), abs=30),
    }
    assert len(warnings(caplog_info)) == 1


def test_asyncio_run_per_request_keeps_no_client_per_loop(redis_server: RedisServer) -> None:
    """`asyncio.run` for each request: the closed loops' clients (and sockets) are let go."""
    store = RedisStore(redis_server.url)
    observer = redis.Redis.from_url(redis_server.url)

    def connected() -> int:
        return int(observer.info("clients")["connected_clients"])

    baseline = connected()
    for _ in range(8):
        assert asyncio.run(store.aadmit("k", 0.0, 1.0)) == ("call", None)
    gc.collect()
    deadline = time.monotonic() + 5
    while connected() > baseline + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connected() <= baseline + 1  # the last loop's client may linger, not eight
