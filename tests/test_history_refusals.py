"""`langgraph-failover history` tells a refused turn from one every provider failed.

Real turns through the real OpenAI and Ollama clients against the emulators, kept in a
real SQLite file; the history is read back from that file as the command does.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import ollama
import pytest

from langgraph_failover.checkpoint import sqlite_checkpointer
from langgraph_failover.cli import run_history
from langgraph_failover.errors import AllProvidersFailed, keep_status
from langgraph_failover.outcomes import ending
from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    server_error,
)
from tests.conftest import FAKE_KEY, MakeGraph


async def test_history_says_refused_with_the_kind(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    tmp_path: Path,
) -> None:
    """OpenAI's 400 and Ollama's 400 are `refused (bad_request)`; all failed says so."""
    db, config = tmp_path / "t.sqlite", {"configurable": {"thread_id": "t"}}
    with sqlite_checkpointer(db) as saver:
        graph = make_graph(checkpointer=saver, fallback_provider="ollama")
        local = make_graph(checkpointer=saver, provider="ollama", fallback_provider="mock")
        openai_emu.script(bad_request(f"Incorrect API key provided: {FAKE_KEY}"))
        with pytest.raises(Exception, match="Error code: 400"):
            graph.invoke({"messages": [("user", "one")]}, config)
        ollama_emu.script(bad_request())
        with pytest.raises(ollama.ResponseError, match=r"\(status code: 400\)"):
            await local.ainvoke({"messages": [("user", "two")]}, config)
        openai_emu.script(server_error(500))
        ollama_emu.script(busy())
        with pytest.raises(AllProvidersFailed):
            graph.invoke({"messages": [("user", "three")]}, config)
        graph.invoke({"messages": [("user", "four")]}, config)
    out = io.StringIO()
    assert run_history(db, "t", out) == 0
    lines = out.getvalue().splitlines()
    assert lines[:6] == [
        "human: one",
        "  not answered: refused (bad_request): OpenAIInvalidRequestError('Error code: 400 - "
        "Incorrect API key provided: ***')",
        "human: two",
        "  not answered: refused (bad_request): ResponseError(\"Invalid 'messages': the request "
        'was rejected.", 400)',
        "human: three",
        "  not answered: every provider failed",
    ]
    assert lines[6:8] == ["human: four", "  served_by=openai degraded=False"]
    assert FAKE_KEY not in out.getvalue()


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("AllProvidersFailed('all providers failed: ...')", "not answered: every provider failed"),
        ('BadRequestError("Error code: 400 - no")', "refused (bad_request)"),
        ('UnprocessableEntityError("Error code: 422 - no")', "refused (bad_request)"),
        ('ResponseError("qwen does not support tools", 400)', "refused (tools_unsupported)"),
        ('APIStatusError("Error code: 413 - too large")', "refused (bad_request)"),
        ('ResponseError("gone", 410)', "raised ResponseError: "),
        ("TypeError('the app passed a bad value')", "raised TypeError: "),
        (None, "not answered"),
    ],
)
def test_the_ending_names_the_kind_of_refusal(error: str | None, said: str) -> None:
    """A status names the refusal's kind; no status, or one no kind covers, names the type."""
    assert said in ending(error)


def test_a_long_error_is_shown_cut() -> None:
    """A long error is cut to a line's worth, marked by an ellipsis."""
    shown = ending(f'BadRequestError("Error code: 400 - {"x" * 500}")')
    assert shown.endswith("...") and len(shown) < 220


def test_ollama_errors_keep_their_status_in_the_repr() -> None:
    """`keep_status` puts the status in the repr; the message, and a pickled copy, keep theirs."""
    error = keep_status(ollama.ResponseError("model does not support tools", 400))
    assert repr(error) == "ResponseError('model does not support tools', 400)"
    assert str(error) == "model does not support tools (status code: 400)"
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ollama.ResponseError) and copy.status_code == 400
    assert keep_status(error).args == error.args  # twice changes nothing more
