"""Stream deadlines: a slow first token or a stalled stream fails over; a steady one does not."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import create_chat_model
from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    ok,
    quota,
    slow_first_token,
    stall,
)
from tests.conftest import FAKE_KEY, MakeGraph, failover

USER = {"messages": [("user", "Tell me about particles")]}
OLLAMA_TEXT = "[ollama qwen2.5:0.5b] reply to: Tell me about particles"
MODES = ["invoke", "ainvoke", "stream", "astream"]
STEADY = "one two three four five six seven eight nine ten eleven twelve"


async def turn(
    graph: Any, mode: str, config: Any = None, **kwargs: Any
) -> tuple[dict[str, Any], list[Any]]:
    """One turn as a sync or async caller makes it: its final state and its stream parts."""
    if mode == "invoke":
        return dict(graph.invoke(USER, config, **kwargs)), []
    if mode == "ainvoke":
        return dict(await graph.ainvoke(USER, config, **kwargs)), []
    modes = ["messages", "custom", "values"]
    if mode == "stream":
        parts = list(graph.stream(USER, config, stream_mode=modes, **kwargs))
    else:
        parts = [p async for p in graph.astream(USER, config, stream_mode=modes, **kwargs)]
    values = [payload for kind, payload in parts if kind == "values"]
    return dict(values[-1]), [(kind, payload) for kind, payload in parts if kind != "values"]


def tried(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(provider, error kind) of each attempt of the turn."""
    return [(a["provider"], a["error"]) for a in state["attempts"]]


def streamed(parts: list[Any]) -> list[tuple[str, Any]]:
    """Token chunks as (node, text) and events as ("event", payload), in stream order."""
    out: list[tuple[str, Any]] = []
    for kind, payload in parts:
        if kind == "messages":
            out.append((payload[1]["langgraph_node"], payload[0].content))
        else:
            out.append(("event", payload))
    return out


def assert_event_first(parts: list[Any]) -> None:
    """The failover event comes before any backup token, and no primary token after it."""
    seen = streamed(parts)
    at = seen.index(("event", failover("openai", "ollama", "timeout")))
    assert all(who != "ollama" for who, _ in seen[:at])
    assert all(who != "openai" for who, _ in seen[at:])
    assert "".join(text for who, text in seen if who == "ollama") == OLLAMA_TEXT


@pytest.mark.parametrize("mode", MODES)
async def test_slow_first_token_fails_over(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """A first token 3 s late, limit 0.5 s: Ollama answers well under 3 s, the limit named."""
    openai_emu.script(slow_first_token(3))
    graph = make_graph(first_token_timeout=0.5, timeout=10)
    started = time.monotonic()
    state, parts = await turn(graph, mode)
    assert time.monotonic() - started < 2.5
    assert tried(state) == [("openai", "timeout"), ("ollama", None)]
    assert state["attempts"][0]["detail"] == "no first token within 0.5 s"
    assert state["messages"][-1].content == OLLAMA_TEXT
    if parts:
        assert_event_first(parts)


@pytest.mark.parametrize("mode", MODES)
async def test_stall_fails_over_and_stores_nothing_partial(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """Silent after 3 chunks, limit 0.5 s: failover, and the checkpoint holds only Ollama's."""
    openai_emu.script(stall(after=3, seconds=3))
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": f"stall-{mode}"}}
    graph = make_graph(stall_timeout=0.5, timeout=10, checkpointer=saver)
    started = time.monotonic()
    state, parts = await turn(graph, mode, config)
    assert time.monotonic() - started < 2.5
    assert tried(state) == [("openai", "timeout"), ("ollama", None)]
    assert re.fullmatch(r"stalled 0\.5 s after \d+ chunks", state["attempts"][0]["detail"])
    if parts:
        partial = "".join(text for who, text in streamed(parts) if who == "openai")
        assert partial  # the primary did stream before it stalled
        assert_event_first(parts)
    saved = saver.get_tuple(config)
    assert saved is not None
    messages = saved.checkpoint["channel_values"]["messages"]
    assert [(m.type, m.content) for m in messages] == [
        ("human", "Tell me about particles"),
        ("ai", OLLAMA_TEXT),
    ]


@pytest.mark.parametrize("options", [{}, {"temperature": 0.3}], ids=["plain", "options bound"])
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_late_primary_token_never_joins_the_backup_stream(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    mode: str,
    options: dict[str, Any],
) -> None:
    """The cut primary speaks while the backup still streams: none of it reaches the stream.

    With call options bound to the model too: a binding merges the node's callbacks with
    its own as a set, which must not put the gate behind LangGraph's token stream.
    """
    openai_emu.script(slow_first_token(0.8))
    ollama_emu.script(ok(STEADY, every=0.15))  # streams from about 0.3 s to 2 s
    graph = make_graph(first_token_timeout=0.3, timeout=10)
    state, parts = await turn(graph, mode, context=options or None)
    assert tried(state) == [("openai", "timeout"), ("ollama", None)]
    seen = streamed(parts)
    at = seen.index(("event", failover("openai", "ollama", "timeout")))
    assert [who for who, _ in seen[at:] if who == "openai"] == []  # only its role chunk before
    assert "".join(text for who, text in seen if who == "ollama") == STEADY


@pytest.mark.parametrize("mode", MODES)
async def test_slow_but_steady_stream_is_not_cut(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, mode: str
) -> None:
    """Chunks every 0.1 s for over a second, stall limit 0.4 s: the primary answers whole."""
    openai_emu.script(ok(STEADY, every=0.1))
    graph = make_graph(first_token_timeout=0.4, stall_timeout=0.4, timeout=10)
    started = time.monotonic()
    state, _ = await turn(graph, mode)
    assert time.monotonic() - started > 1.0  # longer in all than either limit
    assert tried(state) == [("openai", None)]
    assert state["messages"][-1].content == STEADY


@pytest.mark.parametrize("mode", ["invoke", "astream"])
async def test_ollama_limits_apply_by_name(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    mode: str,
) -> None:
    """Limits named for Ollama cut a slow or stalled Ollama; the mock answers."""
    openai_emu.always(quota())
    ollama_emu.script(slow_first_token(3), stall(after=2, seconds=3))
    graph = make_graph(first_token_timeout="ollama=0.5", stall_timeout="ollama=0.5")
    details = []
    for _ in range(2):
        started = time.monotonic()
        state, _ = await turn(graph, mode)
        assert time.monotonic() - started < 2.5
        assert tried(state)[1:] == [("ollama", "timeout"), ("mock", None)]
        details.append(state["attempts"][1]["detail"])
    assert details[0] == "no first token within 0.5 s"
    assert re.fullmatch(r"stalled 0\.5 s after \d+ chunks", details[1])


def test_first_token_timeout_counts_toward_the_circuit(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """The graph's own first-token limit is news of the provider: its circuit opens."""
    openai_emu.script(slow_first_token(3))
    state = make_graph(first_token_timeout=0.5, failure_threshold=1).invoke(USER)
    assert tried(state) == [("openai", "timeout"), ("ollama", None)]
    assert state["attempts"][0]["open_until"] is not None


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_drop_in_model_relays_the_backup_after_a_slow_first_token(
    openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The drop-in model's stream: a flagged chunk, then the backup's whole answer."""
    monkeypatch.setenv("LLM_FAILOVER_FIRST_TOKEN_TIMEOUT", "0.5")
    openai_emu.script(slow_first_token(3))
    model = create_chat_model()
    started = time.monotonic()
    if mode == "stream":
        chunks = list(model.stream("tell me"))
    else:
        chunks = [c async for c in model.astream("tell me")]
    assert time.monotonic() - started < 2.5
    (at,) = [i for i, c in enumerate(chunks) if "failover_events" in c.response_metadata]
    assert chunks[at].response_metadata["failover_events"] == [
        failover("openai", "ollama", "timeout")
    ]
    assert "".join(str(c.content) for c in chunks[:at]) == ""
    assert "".join(str(c.content) for c in chunks[at:]) == "[ollama qwen2.5:0.5b] reply to: tell me"


def limits(**overrides: Any) -> list[tuple[str, float | None, float | None]]:
    """(node, first-token limit, stall limit) of each link of the default chain."""
    settings = load_settings({}, openai_api_key=FAKE_KEY, **overrides)
    return [(s.node, s.first_token_timeout, s.stall_timeout) for s in settings.chain]


def test_defaults_leave_ollama_room_for_a_cold_load() -> None:
    """Remote providers get 10 s to their first token, Ollama 60 s; both 15 s of silence."""
    assert limits()[:2] == [("openai", 10.0, 15.0), ("ollama", 60.0, 15.0)]


@pytest.mark.parametrize(
    ("first", "stall_limit", "expected"),
    [
        ("5", 20, [("openai", 5.0, 20.0), ("ollama", 5.0, 20.0)]),
        ("openai=2,ollama=90", "ollama=0", [("openai", 2.0, 15.0), ("ollama", 90.0, None)]),
        ({"ollama": 120}, "3, openai=1.5", [("openai", 10.0, 1.5), ("ollama", 120.0, 3.0)]),
        ("0", "0", [("openai", None, None), ("ollama", None, None)]),
    ],
)
def test_per_provider_values_are_parsed(first: Any, stall_limit: Any, expected: Any) -> None:
    """One number for all, name=value by provider, a mapping; 0 turns a limit off."""
    assert limits(first_token_timeout=first, stall_timeout=stall_limit)[:2] == expected


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"LLM_FAILOVER_FIRST_TOKEN_TIMEOUT": "opnai=5"}, ["FIRST_TOKEN", "'opnai'", "openai"]),
        ({"LLM_FAILOVER_FIRST_TOKEN_TIMEOUT": "openai=soon"}, ["FIRST_TOKEN", "'soon'"]),
        ({"LLM_FAILOVER_STALL_TIMEOUT": "-1"}, ["STALL_TIMEOUT", "'-1'"]),
        ({"LLM_FAILOVER_STALL_TIMEOUT": "ollama=inf"}, ["STALL_TIMEOUT", "ollama"]),
    ],
)
def test_malformed_values_are_refused(env: dict[str, str], words: list[str]) -> None:
    """A bad name or number is refused at build time, naming the setting and the value."""
    with pytest.raises(ConfigError) as raised:
        load_settings({"OPENAI_API_KEY": FAKE_KEY, **env})
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_emulator_sends_headers_at_once_and_the_first_token_late(
    openai_emu: OpenAIEmulator,
) -> None:
    """`slow_first_token`: the response starts at once, its first content 1 s later."""
    openai_emu.script(slow_first_token(1))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    started = time.monotonic()
    url = f"{openai_emu.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, timeout=5) as response:
        assert response.status_code == 200 and time.monotonic() - started < 0.5
        lines = [line for line in response.iter_lines() if '"content": "' in line]
        assert time.monotonic() - started >= 1.0
    assert '"content": ""' in lines[0] and '"content": "[openai "' in lines[1]
