"""Nothing leaked: no API key, echoed key or URL password in state, logs, errors or checkpoints."""

from __future__ import annotations

import logging
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver

from langgraph_failover import AllProvidersFailed
from langgraph_failover.errors import redact
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.health.circuit import circuit_key
from langgraph_failover.health.store import PROCESS_STORE
from langgraph_failover.secrets import mask
from langgraph_failover.testing import (
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


def _scan_sqlite(db: Path) -> str:
    """Every byte of a closed SQLite checkpoint file, as text to search."""
    return db.read_bytes().decode("latin-1")


def test_key_echoed_by_a_raised_400_is_masked_everywhere(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 400 repeating the key: the raised error, pending writes, tasks and logs hide it."""
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "threads.sqlite"
    conn = sqlite3.connect(db, check_same_thread=False)
    graph = make_graph(checkpointer=SqliteSaver(conn))
    config: Any = {"configurable": {"thread_id": "echo"}}
    openai_emu.script(bad_request(f"Incorrect API key provided: {FAKE_KEY}."))
    with pytest.raises(openai.BadRequestError) as caught:  # the type apps catch is kept
        graph.invoke({"messages": [HumanMessage("hi")]}, config)
    error = caught.value
    tasks = repr(graph.get_state(config).tasks)
    conn.close()
    raised = [str(error), repr(error), repr(error.args), repr(error.body), error.message,
              error.response.text, "".join(traceback.format_exception(error))]  # fmt: skip
    checkpoint = _scan_sqlite(db)
    assert "Incorrect API key provided: ***." in str(error) and "***" in tasks
    assert "__error__" in checkpoint and "Incorrect API key provided: ***" in checkpoint
    assert error.__cause__ is not None  # langchain-openai's original error, masked too
    for text in [*raised, tasks, checkpoint, caplog.text]:
        assert FAKE_KEY not in text and FAKE_KEY[8:] not in text


def test_key_of_any_shape_is_masked_in_details(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A key no pattern knows, echoed by a 401 past the detail's cut: no piece of it is kept."""
    caplog.set_level(logging.DEBUG)
    key = "zz9-plural-z-alpha-SECRET"
    db = tmp_path / "threads.sqlite"
    conn = sqlite3.connect(db, check_same_thread=False)
    graph = make_graph(checkpointer=SqliteSaver(conn), openai_api_key=key)
    # The key straddles the 300-character cap of a detail: masked before it is cut.
    padding = "x" * (300 - len("OpenAIAuthenticationError: Error code: 401 - ") - 10)
    openai_emu.script(unauthorized(f"{padding}{key}"))
    out = graph.invoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": "k"}})
    conn.close()
    detail = out["attempts"][0]["detail"]
    assert (out["served_by"], out["attempts"][0]["error"]) == ("ollama", "auth")
    assert detail.endswith(f"{padding}***")
    for text in [repr(out), _scan_sqlite(db), caplog.text]:
        assert key[:8] not in text and "plural-z" not in text


PASSWORDS = {"openai": ("alice", "s3cr3t-PW-1"), "ollama": ("bob", "hunter2-PW-2")}


def _with_credentials(url: str, provider: str) -> str:
    user, password = PASSWORDS[provider]
    return url.replace("http://", f"http://{user}:{password}@")


def test_url_credentials_never_stored(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`user:password@` base URLs: after a failover no state, checkpoint or log holds them."""
    caplog.set_level(logging.DEBUG)  # httpx logs every request's URL
    db = tmp_path / "threads.sqlite"
    conn = sqlite3.connect(db, check_same_thread=False)
    graph = make_graph(
        checkpointer=SqliteSaver(conn),
        openai_base_url=_with_credentials(openai_emu.base_url, "openai"),
        ollama_base_url=_with_credentials(ollama_emu.base_url, "ollama"),
    )
    config: Any = {"configurable": {"thread_id": "urls"}}
    openai_emu.script(quota())  # opens the circuit: the thread remembers to skip OpenAI
    first = graph.invoke({"messages": [HumanMessage("one")]}, config)
    second = graph.invoke({"messages": [HumanMessage("two")]}, config)
    history = [repr(s) for s in graph.get_state_history(config)]
    conn.close()
    skip = first["sticky"]["skip"]["openai"]["key"]
    assert (first["served_by"], second["served_by"]) == ("ollama", "ollama")
    assert skip.startswith(f"openai|{openai_emu.base_url}|")  # the host is still there
    assert len(openai_emu.requests) == 1  # the sticky key still matched on the second turn
    assert ollama_emu.requests[0].has_auth  # the credentials still reach the server
    for text in [repr(first), repr(second), *history, _scan_sqlite(db), caplog.text]:
        for user, password in PASSWORDS.values():
            assert password not in text and f"{user}:{password}" not in text


def test_circuit_key_tells_credentials_apart_without_holding_them() -> None:
    """Two passwords on one host are two upstreams; neither password is in either key."""
    one = circuit_key("ollama", "http://u:first-pw@h:1", "m", None)
    two = circuit_key("ollama", "http://u:second-pw@h:1", "m", None)
    assert one != two and one != circuit_key("ollama", "http://h:1", "m", None)
    assert "pw" not in one + two and one.startswith("ollama|http://h:1|m|")


def test_mask_hides_configured_secrets_and_url_credentials() -> None:
    """Configured secrets of any shape and any URL's user info are masked in text."""
    secrets = load_settings(
        {}, openai_api_key="zz9-plural-key", openai_base_url="http://user:p%40ss@proxy:3128/v1"
    ).secrets
    text = "user:p%40ss at http://user:p%40ss@proxy:3128/v1, p@ss, zz9-plural-key, sk-abcdefgh"
    assert mask(text, secrets) == "*** at http://***@proxy:3128/v1, ***, ***, sk-***"
    assert redact("see http://tok@host/x") == "see http://***@host/x"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://***@cache:6379/0"),
        ("rediss://app:hunter2@cache/1", "rediss://***@cache/1"),
        ("redis://app:hun@ter2@cache/1", "redis://***@cache/1"),  # an unescaped "@"
        ("postgresql://u:hunter2@db:5432/x fails", "postgresql://***@db:5432/x fails"),
        ('in URI: "postgresql://u:hunter2@[db/x"', 'in URI: "postgresql://***@[db/x"'),
        ("https://TOKEN@host/v1", "https://***@host/v1"),  # a token as the user
        ("redis://cache/0?password=hunter2&db=1", "redis://cache/0?password=***&db=1"),
        ("host=db password=hunter2 port=5432", "host=db password=*** port=5432"),
        ("host=db password='hunter 2' port=5432", "host=db password=*** port=5432"),
        ("http://cache:6379/0", "http://cache:6379/0"),
    ],
)
def test_connection_string_credentials_are_masked(text: str, shown: str) -> None:
    """Each form a credential takes in a URL or a libpq string is masked; host and port stay."""
    assert mask(text) == shown
