"""The served graph end to end: `langgraph dev` on a free port, driven with langgraph-sdk.

The providers are the shipped emulators (in this process); the server is a real
`langgraph dev` subprocess started from the repo root, stopped by its pid at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client

from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, quota
from tests.conftest import FAKE_KEY, failover, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tmp_path: Path) -> Iterator[str]:
    """`langgraph dev --no-browser` with the providers pointed at the emulators."""
    port = free_port()
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "OPENAI_API_KEY": FAKE_KEY,
        "OPENAI_BASE_URL": openai_emu.base_url,
        "OLLAMA_BASE_URL": ollama_emu.base_url,
        # As a deployer grants Studio's form for local work: models too, not the policy.
        "LLM_FAILOVER_RUN_SETTINGS": "tools,tool_choice,temperature,stop,providers,models",
    }
    # The server keeps its threads in ./.langgraph_api: run it in a fresh directory, with
    # the repo's langgraph.json, its paths made absolute.
    spec = json.loads((ROOT / "langgraph.json").read_text())
    spec["dependencies"] = [str(ROOT / d) for d in spec["dependencies"]]
    spec["graphs"] = {name: str(ROOT / path) for name, path in spec["graphs"].items()}
    spec["env"] = str(ROOT / spec["env"])
    (tmp_path / "langgraph.json").write_text(json.dumps(spec))
    binary = Path(sys.executable).parent / "langgraph"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [str(binary), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_served_graph_fails_over_and_streams_the_event(
    server: str, openai_emu: OpenAIEmulator
) -> None:
    """Healthy turn, quota turn, thread state, and a streamed run with the failover event."""
    client = get_sync_client(url=server)
    thread = client.threads.create()
    turn: Any = {"messages": [{"role": "user", "content": "Konnichiwa"}]}
    client.runs.wait(thread["thread_id"], "langgraph_failover", input=turn)
    state = client.threads.get_state(thread["thread_id"])["values"]
    assert (state["served_by"], state["degraded"]) == ("openai", False)

    openai_emu.always(quota())
    client.runs.wait(thread["thread_id"], "langgraph_failover", input=turn)
    state = client.threads.get_state(thread["thread_id"])["values"]
    assert state["served_by"] == "ollama"
    assert [(a["provider"], a["error"]) for a in state["attempts"]] == [
        ("openai", "insufficient_quota"),
        ("ollama", None),
    ]
    assert len(state["messages"]) == 4

    other = client.threads.create()
    parts = list(
        client.runs.stream(
            other["thread_id"], "langgraph_failover", input=turn, stream_mode=["custom", "values"]
        )
    )
    events = [p.data for p in parts if p.event == "custom"]
    assert events == [failover("openai", "ollama", "circuit_open")]
    assert len(openai_emu.requests) == 2  # the open circuit spared the primary

    # Studio's per-run settings arrive as the run's context: this run skips Ollama.
    studio = client.threads.create()
    settings = {"providers": ["openai", "mock"], "models": {"openai": "gpt-4.1"}}
    client.runs.wait(studio["thread_id"], "langgraph_failover", input=turn, context=settings)
    state = client.threads.get_state(studio["thread_id"])["values"]
    assert [(a["node"], a["model"], a["error"]) for a in state["attempts"]] == [
        ("openai", "gpt-4.1", "insufficient_quota"),
        ("mock", "mock", None),
    ]
    assert state["degraded"] is True
    assert openai_emu.requests[-1].model == "gpt-4.1"

    # A field the deployer did not grant is refused, no request made, the thread readable.
    sent = len(openai_emu.requests)
    with pytest.raises(Exception, match="context failure_cooldown: runs of this graph may not"):
        client.runs.wait(
            studio["thread_id"], "langgraph_failover", input=turn, context={"failure_cooldown": 1e9}
        )
    assert len(openai_emu.requests) == sent
    assert client.threads.get_state(studio["thread_id"])["values"]["served_by"] == "mock"


def test_served_graph_refuses_bad_input_and_the_thread_stays_readable(server: str) -> None:
    """A run with a bad message fails alone: the state endpoint answers, history unchanged."""
    client = get_sync_client(url=server)
    thread = client.threads.create()["thread_id"]
    good: Any = {"messages": [{"role": "user", "content": "Konnichiwa"}]}
    client.runs.wait(thread, "langgraph_failover", input=good)
    for bad in ([5], [{"role": "wizard", "content": "hi"}], []):
        with pytest.raises(Exception, match=r"^InvalidInput: messages"):
            client.runs.wait(thread, "langgraph_failover", input={"messages": bad})
        state = client.threads.get_state(thread)["values"]  # raises on an error status
        assert [m["type"] for m in state["messages"]] == ["human", "ai"]
        assert state["messages"][0]["content"] == "Konnichiwa"
