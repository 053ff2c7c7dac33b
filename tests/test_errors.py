"""classify(): a table of real SDK exceptions, produced by the real clients over the wire."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from langgraph_failover import AllProvidersFailed, classify
from langgraph_failover.errors import redact, retry_after
from langgraph_failover.testing import (
    Behaviour,
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    context_length,
    cut,
    empty,
    forbidden,
    hang,
    malformed,
    not_found,
    quota,
    rate_limited,
    server_error,
    unauthorized,
)
from tests.conftest import FAKE_KEY, dead_url


def raised(call: Callable[[], Any]) -> BaseException:
    """The exception `call` raises (the test fails if it raises none)."""
    try:
        call()
    except Exception as exc:  # any type: the table asserts which one the SDK raised
        return exc
    pytest.fail("the call raised nothing")


def openai_call(base_url: str, *, stream: bool = False) -> Callable[[], Any]:
    """A raw `openai` SDK call (no LangChain in between), ready to run."""
    client = openai.OpenAI(base_url=base_url, api_key=FAKE_KEY, max_retries=0, timeout=0.5)

    def call() -> Any:
        messages: Any = [{"role": "user", "content": "hi"}]
        result = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                stream=stream)  # fmt: skip
        return list(result) if stream else result

    return call


def ollama_call(base_url: str) -> Callable[[], Any]:
    """A ChatOllama call: it is what raises the empty-stream ValueError."""
    model = ChatOllama(model="qwen2.5:0.5b", base_url=base_url, client_kwargs={"timeout": 0.5})
    return lambda: model.invoke("hi")


OPENAI_TABLE: list[tuple[Behaviour, bool, str, int | None, type[BaseException]]] = [
    (quota(), False, "insufficient_quota", 429, openai.RateLimitError),
    (rate_limited(), False, "rate_limited", 429, openai.RateLimitError),
    (server_error(500), False, "server_error", 500, openai.InternalServerError),
    (server_error(502), False, "server_error", 502, openai.InternalServerError),
    (unauthorized(), False, "auth", 401, openai.AuthenticationError),
    (forbidden(), False, "auth", 403, openai.PermissionDeniedError),
    (not_found(), False, "not_found", 404, openai.NotFoundError),
    (bad_request(), False, "bad_request", 400, openai.BadRequestError),
    (
        bad_request("model does not support tools"),
        False,
        "tools_unsupported",
        400,
        openai.BadRequestError,
    ),
    (hang(seconds=10), False, "timeout", None, openai.APITimeoutError),
    (cut(after=1), False, "connection", None, openai.APIConnectionError),
    (cut(after=2), True, "connection", None, openai.APIConnectionError),
    (quota(), True, "insufficient_quota", 429, openai.RateLimitError),
    (malformed(after=2), True, "server_error", None, json.JSONDecodeError),
    (malformed(), False, "server_error", None, json.JSONDecodeError),
    (context_length(), False, "context_length", 400, openai.BadRequestError),
    (context_length(), True, "context_length", 400, openai.BadRequestError),
]


@pytest.mark.parametrize(("fault", "stream", "kind", "status", "sdk_type"), OPENAI_TABLE,
                         ids=lambda v: getattr(v, "kind", str(v)))  # fmt: skip
def test_openai_errors(
    openai_emu: OpenAIEmulator,
    fault: Behaviour,
    stream: bool,
    kind: str,
    status: int | None,
    sdk_type: type[BaseException],
) -> None:
    """Each OpenAI fault raises the SDK's own type and classifies to the right kind."""
    openai_emu.script(fault)
    exc = raised(openai_call(openai_emu.base_url, stream=stream))
    assert type(exc) is sdk_type
    failure = classify(exc)
    assert failure is not None
    assert (failure["kind"], failure["status_code"]) == (kind, status)
    assert FAKE_KEY not in failure["detail"]


def test_openai_connection_refused() -> None:
    """Nothing listening: APIConnectionError, classified as connection."""
    exc = raised(openai_call(dead_url("/v1")))
    assert type(exc) is openai.APIConnectionError
    assert (classify(exc) or {}).get("kind") == "connection"


def test_empty_openai_stream_is_a_server_error(openai_emu: OpenAIEmulator) -> None:
    """A stream that ends before any chunk: langchain-core's ValueError, server_error."""
    openai_emu.script(empty())
    model = ChatOpenAI(model="gpt-4o-mini", base_url=openai_emu.base_url, api_key=FAKE_KEY,
                       max_retries=0)  # fmt: skip
    exc = raised(lambda: list(model.stream("hi")))
    assert type(exc) is ValueError
    assert (classify(exc) or {}).get("kind") == "server_error"


def test_empty_stream_inside_a_streaming_graph_is_a_server_error(
    ollama_emu: OllamaEmulator,
) -> None:
    """invoke() under stream_mode="messages" aggregates a stream: its empty-stream error."""
    from langchain_core.language_models.chat_models import generate_from_stream

    ollama_emu.script(empty())
    model = ChatOllama(model="qwen2.5:0.5b", base_url=ollama_emu.base_url)
    exc = raised(lambda: generate_from_stream(iter(list(model._stream([HumanMessage("hi")])))))
    assert str(exc) == "No generations found in stream."
    assert (classify(exc) or {}).get("kind") == "server_error"


def test_rate_limit_carries_retry_after(openai_emu: OpenAIEmulator) -> None:
    """The 429's retry-after-ms header wins over retry-after and is read in seconds."""
    openai_emu.script(rate_limited(retry_after=20, retry_after_ms=1500))
    failure = classify(raised(openai_call(openai_emu.base_url)))
    assert failure is not None and failure["retry_after"] == 1.5


OLLAMA_TABLE: list[tuple[Behaviour, str, int | None, str]] = [
    (busy(), "server_error", 503, "ResponseError"),
    (not_found(), "not_found", 404, "ResponseError"),
    (server_error(500), "server_error", 500, "ResponseError"),
    (unauthorized(), "auth", 401, "ResponseError"),
    (bad_request(), "bad_request", 400, "ResponseError"),
    (
        bad_request('"qwen2.5:0.5b" does not support tools'),
        "tools_unsupported",
        400,
        "ResponseError",
    ),
    (rate_limited(), "rate_limited", 429, "ResponseError"),
    (empty(), "server_error", None, "ValueError"),
    (hang(seconds=10), "timeout", None, "ReadTimeout"),
    (cut(after=1), "connection", None, "RemoteProtocolError"),
    (malformed(after=1), "server_error", None, "JSONDecodeError"),
    (context_length(), "context_length", 400, "ResponseError"),
]


@pytest.mark.parametrize(("fault", "kind", "status", "sdk_type"), OLLAMA_TABLE,
                         ids=lambda v: getattr(v, "kind", str(v)))  # fmt: skip
def test_ollama_errors(
    ollama_emu: OllamaEmulator, fault: Behaviour, kind: str, status: int | None, sdk_type: str
) -> None:
    """Each Ollama fault, through ChatOllama, raises what the SDK raises and classifies."""
    ollama_emu.script(fault)
    exc = raised(ollama_call(ollama_emu.base_url))
    assert type(exc).__name__ == sdk_type
    failure = classify(exc)
    assert failure is not None
    assert (failure["kind"], failure["status_code"]) == (kind, status)


def test_ollama_connection_refused() -> None:
    """Nothing listening: ChatOllama's streaming call leaks httpx.ConnectError; connection."""
    exc = raised(ollama_call(dead_url()))
    assert type(exc).__name__ == "ConnectError"
    assert (classify(exc) or {}).get("kind") == "connection"


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("messages"),
        ValueError("bad literal"),
        TypeError("x"),
        RuntimeError("bug"),
        openai.OpenAIError("The api_key client option must be set"),
        json.JSONDecodeError("Expecting value", "", 0),
        raised(lambda: json.loads("{")),  # raised by our own (or an app's) code
        raised(lambda: b"\xff".decode()),
    ],
)
def test_unknown_errors_are_not_failed_over(exc: BaseException) -> None:
    """Default-deny: anything not a recognised provider error classifies to None."""
    assert classify(exc) is None


def test_a_context_error_states_its_window_in_the_detail(openai_emu: OpenAIEmulator) -> None:
    """The window stated by OpenAI's 400 survives into the recorded detail."""
    openai_emu.script(context_length(window=8192))
    failure = classify(raised(openai_call(openai_emu.base_url)))
    assert failure is not None and "maximum context length is 8192 tokens" in failure["detail"]


def test_retry_after_formats() -> None:
    """Seconds, milliseconds and HTTP dates are read; garbage and absence give None."""
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert retry_after({"retry-after": "7"}, now=now) == 7.0
    assert retry_after({"retry-after-ms": "250"}, now=now) == 0.25
    assert retry_after({"retry-after": date}, now=now) == 42.0
    assert retry_after({"retry-after": "soon"}, now=now) is None
    assert retry_after({}, now=now) is None


def test_redact_masks_keys() -> None:
    """Anything shaped like an API key is masked before it can reach state or logs."""
    text = f"Incorrect API key provided: {FAKE_KEY}. Invalid API Key: gsk_4f9KabcdEFGH123."
    assert redact(text) == "Incorrect API key provided: sk-***. Invalid API Key: gsk-***."


def test_all_providers_failed_pickles() -> None:
    """The error carries the attempts and survives pickling (process pools, queues)."""
    import pickle

    attempts = [{"provider": "openai", "model": "m", "error": "auth", "status_code": 401}]
    exc = pickle.loads(pickle.dumps(AllProvidersFailed(attempts)))
    assert exc.attempts == attempts
    assert str(exc) == "all providers failed: openai(m): auth [401]"
