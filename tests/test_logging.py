"""What the `langgraph_failover` logger says, and at which level.

A WARNING per failed request that moved the turn on and per circuit that opened or
closed; DEBUG for a call that only skipped an open circuit.

Time is a FakeClock and circuits a MemoryStore of the test's own; the providers are the
emulators, called by the real clients, sync and async.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis
from langchain_core.messages import HumanMessage

from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.testing import FakeClock, OpenAIEmulator, ok, quota, server_error
from tests.conftest import FAKE_KEY, MakeGraph


@pytest.fixture
def graph(make_graph: MakeGraph, clock: FakeClock) -> FailoverGraph:
    """The real graph on the fake clock, with circuits of its own."""
    return make_graph(clock=clock.clock, circuit_store=MemoryStore())


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Our logger, recorded from DEBUG up."""
    caplog.set_level(logging.DEBUG, logger="langgraph_failover")
    return caplog


async def turn(graph: FailoverGraph, mode: str) -> dict[str, Any]:
    """One turn, as a sync or an async caller."""
    payload = {"messages": [HumanMessage("hi")]}
    if mode == "invoke":
        return dict(graph.invoke(payload))
    return dict(await graph.ainvoke(payload))


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[tuple[str, str]]:
    """Our JSON lines at exactly `level`, as (type, reason or what it closed after)."""
    out = []
    for record in caplog.records:
        if record.name == "langgraph_failover" and record.levelno == level:
            line = json.loads(record.getMessage())
            out.append((line["type"], line.get("reason") or line.get("after")))
    return out


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_open_circuit_skips_log_at_debug_and_transitions_warn_once(
    mode: str,
    graph: FailoverGraph,
    openai_emu: OpenAIEmulator,
    clock: FakeClock,
    logged: pytest.LogCaptureFixture,
) -> None:
    """Quota: the opening and the failover warn; 20 skips are DEBUG; the probe's close warns."""
    openai_emu.script(quota())
    await turn(graph, mode)
    assert lines(logged, logging.WARNING) == [
        ("circuit_opened", "insufficient_quota"),
        ("failover", "insufficient_quota"),
    ]
    for _ in range(20):
        await turn(graph, mode)
    assert len(lines(logged, logging.WARNING)) == 2  # not one per call while it is open
    assert lines(logged, logging.DEBUG) == [("failover", "circuit_open")] * 20
    openai_emu.script(ok())
    clock.advance(301)
    assert (await turn(graph, mode))["served_by"] == "openai"  # the probe
    assert lines(logged, logging.WARNING)[2:] == [("circuit_closed", "insufficient_quota")]
    assert len(openai_emu.requests) == 2 and FAKE_KEY not in logged.text


async def test_failed_probe_warns_that_the_circuit_opened_again(
    graph: FailoverGraph,
    openai_emu: OpenAIEmulator,
    clock: FakeClock,
    logged: pytest.LogCaptureFixture,
) -> None:
    """A probe that fails: one more opening and the failover it caused, nothing else."""
    openai_emu.always(quota())
    await turn(graph, "invoke")
    clock.advance(301)
    await turn(graph, "ainvoke")
    assert (
        lines(logged, logging.WARNING)
        == [
            ("circuit_opened", "insufficient_quota"),
            ("failover", "insufficient_quota"),
        ]
        * 2
    )


async def test_counted_failures_warn_each_and_the_opening_once(
    graph: FailoverGraph, openai_emu: OpenAIEmulator, logged: pytest.LogCaptureFixture
) -> None:
    """Three 500s in a row: three failover warnings, and the opening at the third only."""
    openai_emu.always(server_error(500))
    for _ in range(3):
        await turn(graph, "invoke")
    opened = json.loads(
        next(r.getMessage() for r in logged.records if "circuit_opened" in r.getMessage())
    )
    assert lines(logged, logging.WARNING) == [("failover", "server_error")] * 2 + [
        ("circuit_opened", "server_error"),
        ("failover", "server_error"),
    ]
    assert (opened["node"], opened["provider"], opened["model"]) == (
        "openai",
        "openai",
        "gpt-4o-mini",
    )
    assert opened["open_for"] == 30.0 and "500" in opened["detail"]


async def test_workers_sharing_redis_log_each_transition_once(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    redis_url: str,
    clock: FakeClock,
    logged: pytest.LogCaptureFixture,
) -> None:
    """Two workers on one Redis: the opening and the close are warned once, skips are DEBUG."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("llm-failover:circuit:*"):
        client.delete(key)  # this test's circuits start closed
    worker_a, worker_b = (make_graph(redis_url=redis_url, clock=clock.clock) for _ in "ab")
    openai_emu.script(quota())
    await turn(worker_a, "invoke")
    for _ in range(3):
        await turn(worker_b, "ainvoke")
    assert lines(logged, logging.WARNING) == [
        ("circuit_opened", "insufficient_quota"),
        ("failover", "insufficient_quota"),
    ]
    assert lines(logged, logging.DEBUG) == [("failover", "circuit_open")] * 3
    openai_emu.script(ok())
    clock.advance(301)
    assert (await turn(worker_b, "invoke"))["served_by"] == "openai"
    assert (await turn(worker_a, "invoke"))["served_by"] == "openai"
    assert lines(logged, logging.WARNING)[2:] == [("circuit_closed", "insufficient_quota")]
