"""`context_length`: a prompt over the model's window fails over uncounted, and is learnt.

The error's words (OpenAI's, vLLM's, llama.cpp's as Ollama passes them on) are read for
the window; the next turns' history to that upstream is fitted to it.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import PROCESS_STORE
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, context_length, ok
from langgraph_failover.windows import Windows, exceeded, fit_limit, stated_window
from tests.conftest import CALLERS, FAKE_KEY, MakeGraph, failover, run_turn

# Real wording of each upstream, with the window it states (None: states none).
MESSAGES = [
    ("This model's maximum context length is 128000 tokens. However, your messages resulted "
     "in 130000 tokens. Please reduce the length of the messages.", 128_000),  # OpenAI
    ("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens "
     "(8000 in the messages, 1000 in the completion).", 8192),  # vLLM
    ("'max_tokens' or 'max_completion_tokens' is too large: 8000. This model's maximum "
     "context length is 4096 tokens and your request has 2778 input tokens", 4096),  # vLLM
    ('{"error":{"code":400,"message":"request (8889 tokens) exceeds the available context '
     'size (4096 tokens), try increasing it","type":"exceed_context_size_error",'
     '"n_prompt_tokens":8889,"n_ctx":4096}}', 4096),  # llama.cpp, via Ollama
    ("the prompt is longer than the context length currently available to the model", None),
    ("Error code: 400 - {'error': {'code': 'context_length_exceeded'}}", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "window"), MESSAGES)
def test_each_upstreams_wording_is_recognised_with_its_window(
    text: str, window: int | None
) -> None:
    """Every wording says the prompt was too long; the window is read where it is stated."""
    assert exceeded(text)
    assert stated_window(text) == window


def test_an_ordinary_bad_request_is_not_a_context_error() -> None:
    """A 400 about something else is not mistaken for a window."""
    text = "Invalid 'messages': the request was rejected. max_tokens must be at least 1"
    assert not exceeded(text) and stated_window(text) is None


def test_learnt_windows_are_bounded_and_the_smaller_limit_wins() -> None:
    """The oldest window is forgotten past the bound; the fit uses the smaller of two."""
    windows = Windows(size=2)
    for n, key in enumerate(["a", "b", "c"]):
        windows.learn(key, 1000 + n)
    assert (windows.get("a"), windows.get("b"), windows.get("c")) == (None, 1001, 1002)
    assert fit_limit(4096, "") == 4096 and fit_limit(None, "") is None


@pytest.mark.parametrize("caller", CALLERS)
async def test_context_length_fails_over_uncounted(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, caller: str
) -> None:
    """OpenAI's 400 context_length_exceeded: Ollama answers, no circuit record is written."""
    openai_emu.script(context_length())
    graph = make_graph(checkpointer=InMemorySaver())
    state, parts = await run_turn(graph, caller, "hi", f"ctx-{caller}")
    assert [(a["node"], a["error"], a["status_code"]) for a in state["attempts"]] == [
        ("openai", "context_length", 400),
        ("ollama", None, None),
    ]
    assert [m.type for m in state["messages"]] == ["human", "ai"]
    assert len(openai_emu.requests) == 1  # never retried unchanged
    key = circuit_key("openai", openai_emu.base_url, "gpt-4o-mini", FAKE_KEY)
    assert PROCESS_STORE.get(key) is None
    if parts:
        assert parts[0] == ("event", failover("openai", "ollama", "context_length"))


LONG = "word " * 60  # about 75 tokens a message, by LangChain's approximate count


@pytest.mark.parametrize(
    ("provider", "backup"), [("openai", "ollama"), ("ollama", "mock")], ids=["openai", "ollama"]
)
async def test_a_stated_window_fits_the_next_turns_to_it(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    provider: str,
    backup: str,
) -> None:
    """After "window of 300 tokens", the next request to that upstream sends fewer messages."""
    emulator = openai_emu if provider == "openai" else ollama_emu
    graph = make_graph(provider=provider, checkpointer=InMemorySaver())
    for n in range(4):  # a history of eight long messages, all answered by the primary
        emulator.script(ok(f"answer {n} {LONG}"))
        await run_turn(graph, "invoke", f"question {n} {LONG}", provider)
    emulator.script(context_length(window=300))
    state, _ = await run_turn(graph, "ainvoke", f"question 4 {LONG}", provider)
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [
        (provider, "context_length"),
        (backup, None),
    ]
    state, _ = await run_turn(graph, "stream", f"question 5 {LONG}", provider)
    assert [(a["node"], a["error"]) for a in state["attempts"]] == [(provider, None)]
    sent = emulator.requests[-1].messages
    assert len(sent) < len(state["messages"]) - 1  # the history minus the new answer
    assert sent[-1]["content"] == f"question 5 {LONG}"
    assert state["attempts"][0]["trimmed"]["limit"] == 300
