"""Nothing leaked: a recognisable fake API key appears in no state, log, error or checkpoint."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver

from llm_failover import AllProvidersFailed
from llm_failover.health.store import PROCESS_STORE
from llm_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    ok,
    quota,
    rate_limited,
    unauthorized,
)
from tests.conftest import FAKE_KEY, MakeGraph


def test_fake_key_is_nowhere(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Healthy, 401, 429s, a raised 400 and an all-down turn: scan everything they left."""
    caplog.set_level(logging.DEBUG)  # every logger, the SDKs' and httpx's included
    db = tmp_path / "threads.sqlite"
    seen: list[str] = []
    with sqlite3.connect(db, check_same_thread=False) as conn:
        graph = make_graph(checkpointer=SqliteSaver(conn), fallback_provider="ollama")
        config: Any = {"configurable": {"thread_id": "secrets"}}
        openai_emu.script(ok(), unauthorized(), rate_limited(retry_after=60))
        ollama_emu.script(ok(), ok())
        for text in ("hello", "401", "429"):
            seen.append(repr(graph.invoke({"messages": [HumanMessage(text)]}, config)))
        for number, (fault, error) in enumerate(
            ((bad_request(), openai.BadRequestError), (quota(), AllProvidersFailed))
        ):
            PROCESS_STORE.clear()
            openai_emu.script(fault)
            ollama_emu.script(busy())
            other: Any = {"configurable": {"thread_id": f"fault-{number}"}}
            with pytest.raises(error) as caught:
                graph.invoke({"messages": [HumanMessage("boom")]}, other)
            seen += [str(caught.value), repr(caught.value), repr(caught.value.args)]
            seen += [repr(s) for s in graph.get_state_history(other)]
        seen.append(repr(graph.get_state(config)))
        seen += [repr(s) for s in graph.get_state_history(config)]
    seen.append(db.read_bytes().decode("latin-1"))
    seen.append(caplog.text)
    seen += [repr(r.__dict__) for r in caplog.records]
    seen += [repr(r) for r in openai_emu.requests]
    assert len(seen) > 10 and "401" in "".join(seen)
    # every fault really reached the provider it was meant for
    assert [r.behaviour.kind for r in openai_emu.requests] == [
        "ok",
        "unauthorized",
        "rate_limited",
        "bad_request",
        "quota",
    ]
    assert "Sending HTTP Request" in caplog.text  # the SDK debug logs were really scanned
    for text in seen:
        assert FAKE_KEY not in text
        assert FAKE_KEY[8:] not in text  # nor most of it
