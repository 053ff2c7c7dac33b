"""The emulators speak OpenAI's and Ollama's wire formats well enough for the real SDKs.

Every test drives the real `openai` / `langchain_openai` and `ollama` / `langchain_ollama`
clients over loopback; the exception types asserted here are the ones those SDKs really
raise, the table the project's error classification is built from.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import aiohttp
import httpx
import ollama
import openai
import pytest
from langchain_core import exceptions as lc_exc
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

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
    ok,
    quota,
    rate_limited,
    server_error,
    unauthorized,
    unterminated,
)

GPT = "gpt-4o-mini"
QWEN = "qwen2.5:0.5b"
OPENAI_ECHO = f"[openai {GPT}] reply to: hello there"
OLLAMA_ECHO = f"[ollama {QWEN}] reply to: hello there"
WEATHER = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}


# Each new SDK client loads the CA bundle (~50 ms), and LangChain caches clients per
# base_url: sync tests share one emulator per module (reset between tests) so the cache
# hits. Async tests get a fresh emulator, hence a fresh port and client, because a cached
# async client must not be reused from a second event loop.


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIEmulator]:
    """Run one OpenAI emulator for the whole module."""
    with OpenAIEmulator() as emu:
        yield emu


@pytest.fixture
def openai_emu(openai_server: OpenAIEmulator) -> OpenAIEmulator:
    """Return the module's OpenAI emulator with a clean script and record."""
    openai_server.reset()
    return openai_server


@pytest.fixture
def fresh_openai_emu() -> Iterator[OpenAIEmulator]:
    """Run an OpenAI emulator on a new port for one (async) test."""
    with OpenAIEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def ollama_server() -> Iterator[OllamaEmulator]:
    """Run one Ollama emulator for the whole module."""
    with OllamaEmulator() as emu:
        yield emu


@pytest.fixture
def ollama_emu(ollama_server: OllamaEmulator) -> OllamaEmulator:
    """Return the module's Ollama emulator with a clean script and record."""
    ollama_server.reset()
    return ollama_server


@pytest.fixture(scope="module")
def ollama_llm(ollama_server: OllamaEmulator) -> ChatOllama:
    """Build one ChatOllama for the sync tests (ChatOllama has no client cache)."""
    return chat_ollama(ollama_server)


@pytest.fixture
def fresh_ollama_emu() -> Iterator[OllamaEmulator]:
    """Run an Ollama emulator on a new port for one (async) test."""
    with OllamaEmulator() as emu:
        yield emu


def chat_openai(emu: OpenAIEmulator, timeout: float = 2, **kwargs: Any) -> ChatOpenAI:
    """Build a ChatOpenAI the way the project does: no SDK retries, short timeout."""
    return ChatOpenAI(
        model=GPT,
        base_url=emu.base_url,
        api_key="sk-test",  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        max_retries=0,
        timeout=timeout,
        **kwargs,
    )


def chat_ollama(emu: OllamaEmulator, timeout: float = 2) -> ChatOllama:
    """Build a ChatOllama pointed at `emu`."""
    return ChatOllama(model=QWEN, base_url=emu.base_url, client_kwargs={"timeout": timeout})


def joined(chunks: list[BaseMessage]) -> str:
    """Concatenate streamed pieces, insisting there were several."""
    assert len([c for c in chunks if c.content]) > 1, "expected a real stream of pieces"
    return "".join(str(c.content) for c in chunks)


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    """Add streamed chunks up into one message, as LangChain does."""
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


# --- OpenAI: successes ---------------------------------------------------------------


def test_openai_invoke_echoes_last_user_message(openai_emu: OpenAIEmulator) -> None:
    """A plain invoke gets the deterministic echo of the last user message."""
    assert chat_openai(openai_emu).invoke("hello there").content == OPENAI_ECHO


def test_openai_stream_pieces_concatenate_to_echo(openai_emu: OpenAIEmulator) -> None:
    """Streaming yields several SSE pieces that add up to the same echo."""
    assert joined(list(chat_openai(openai_emu).stream("hello there"))) == OPENAI_ECHO


async def test_openai_ainvoke_and_astream(fresh_openai_emu: OpenAIEmulator) -> None:
    """The async client gets the same echo, whole and streamed."""
    llm = chat_openai(fresh_openai_emu)
    assert (await llm.ainvoke("hello there")).content == OPENAI_ECHO
    assert joined([c async for c in llm.astream("hello there")]) == OPENAI_ECHO


@pytest.mark.parametrize("stream", [False, True])
def test_openai_tool_calls(openai_emu: OpenAIEmulator, stream: bool) -> None:
    """Scripted tool calls come back as `AIMessage.tool_calls`, streamed or not."""
    openai_emu.script(ok(tool_calls=[WEATHER]))
    llm = chat_openai(openai_emu)
    message = aggregate(list(llm.stream("weather?"))) if stream else llm.invoke("weather?")
    assert [{k: c[k] for k in ("name", "args", "id")} for c in message.tool_calls] == [WEATHER]


def test_openai_stream_usage_chunk(openai_emu: OpenAIEmulator) -> None:
    """With `stream_usage`, the word-count usage arrives in the stream."""
    chunks = list(chat_openai(openai_emu, stream_usage=True).stream("hello there"))
    usage = aggregate(chunks).usage_metadata
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"]) == (2, 6)


def test_openai_text_parts_are_joined(openai_emu: OpenAIEmulator) -> None:
    """The echo uses the last *user* message, joining its text parts like `.text` does."""
    parts: list[str | dict[Any, Any]] = [
        {"type": "text", "text": "hello "},
        {"type": "text", "text": "there"},
    ]
    reply = chat_openai(openai_emu).invoke([HumanMessage("first"), HumanMessage(parts)])
    assert reply.content == OPENAI_ECHO


# --- OpenAI: faults ------------------------------------------------------------------

OPENAI_FAULTS = [
    (quota(), openai.RateLimitError, lc_exc.ModelRateLimitError, 429, "insufficient_quota"),
    (rate_limited(), openai.RateLimitError, lc_exc.ModelRateLimitError, 429, "rate_limit_exceeded"),
    (server_error(), openai.InternalServerError, lc_exc.ModelAPIError, 500, None),
    (server_error(502), openai.InternalServerError, lc_exc.ModelAPIError, 502, None),
    (busy(), openai.InternalServerError, lc_exc.ModelAPIError, 503, None),
    (
        unauthorized(),
        openai.AuthenticationError,
        lc_exc.ModelAuthenticationError,
        401,
        "invalid_api_key",
    ),
    (
        forbidden(),
        openai.PermissionDeniedError,
        lc_exc.ModelPermissionDeniedError,
        403,
        "unsupported_country_region_territory",
    ),
    (bad_request("nope"), openai.BadRequestError, lc_exc.ModelInvalidRequestError, 400, None),
    (not_found(), openai.NotFoundError, lc_exc.ModelNotFoundError, 404, "model_not_found"),
]


@pytest.mark.parametrize(("behaviour", "sdk_type", "lc_type", "status", "code"), OPENAI_FAULTS)
def test_openai_status_errors(
    openai_emu: OpenAIEmulator,
    behaviour: Behaviour,
    sdk_type: type[openai.APIStatusError],
    lc_type: type[Exception],
    status: int,
    code: str | None,
) -> None:
    """Each HTTP fault raises the SDK class (ChatOpenAI's subclass is also a ModelError)."""
    openai_emu.script(behaviour)
    with pytest.raises(sdk_type) as caught:
        chat_openai(openai_emu).invoke("hi")
    assert isinstance(caught.value, lc_type)
    assert type(caught.value.__cause__) is sdk_type
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert "sk-test" not in str(caught.value)


def test_openai_quota_body_is_openais(openai_emu: OpenAIEmulator) -> None:
    """The raw SDK sees OpenAI's exact insufficient_quota body."""
    openai_emu.script(quota())
    client = openai.OpenAI(base_url=openai_emu.base_url, api_key="sk-test", max_retries=0)
    with client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body == {
        "message": "You exceeded your current quota, please check your plan and billing "
        "details. For more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }


def test_openai_rate_limit_headers(openai_emu: OpenAIEmulator) -> None:
    """A rate limit carries `retry-after`, `retry-after-ms` and `x-ratelimit-*` headers."""
    openai_emu.script(rate_limited(retry_after=3, retry_after_ms=2500))
    with pytest.raises(openai.RateLimitError) as caught:
        chat_openai(openai_emu).invoke("hi")
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("3", "2500")
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert "Please try again in 3s" in caught.value.message


def test_openai_hang_times_out(openai_emu: OpenAIEmulator) -> None:
    """A hang trips the client timeout: `openai.APITimeoutError` (cause httpx2.ReadTimeout)."""
    openai_emu.script(hang())
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError) as caught:
        chat_openai(openai_emu, timeout=0.5).invoke("hi")
    assert time.monotonic() - started < 1.5
    assert isinstance(caught.value, lc_exc.ModelTimeoutError)


@pytest.mark.parametrize("stream", [False, True])
def test_openai_cut_is_a_connection_error(openai_emu: OpenAIEmulator, stream: bool) -> None:
    """A cut body is `openai.APIConnectionError`, mid-stream too (cause RemoteProtocolError)."""
    openai_emu.script(cut(after=2))
    llm = chat_openai(openai_emu)
    with pytest.raises(openai.APIConnectionError) as caught:
        list(llm.stream("hi")) if stream else llm.invoke("hi")
    assert isinstance(caught.value, lc_exc.ModelConnectionError)
    assert type(caught.value.__cause__.__cause__).__name__ == "RemoteProtocolError"  # type: ignore[union-attr]


def test_openai_empty(openai_emu: OpenAIEmulator) -> None:
    """`empty` gives "" unstreamed; a bare `[DONE]` stream makes ChatOpenAI raise ValueError."""
    openai_emu.script(empty(), empty())
    llm = chat_openai(openai_emu)
    assert llm.invoke("hi").content == ""
    with pytest.raises(ValueError, match="No generation chunks were returned"):
        list(llm.stream("hi"))


def _raw_stream(emu: OpenAIEmulator) -> Any:
    """A raw `openai` SDK stream of one chat request, with usage asked for."""
    client = openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0, timeout=2)
    return client.chat.completions.create(
        model=GPT, messages=[{"role": "user", "content": "hello there"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip


@pytest.mark.parametrize("finish", [False, True])
def test_openai_unterminated_stream_ends_quietly(openai_emu: OpenAIEmulator, finish: bool) -> None:
    """No `[DONE]`: the SDK just stops; the finish reason and usage come only with `finish`."""
    openai_emu.script(unterminated(finish=finish))
    chunks = list(_raw_stream(openai_emu))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == OPENAI_ECHO
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert ("stop" in finishes, any(c.usage for c in chunks)) == (finish, finish)


def test_openai_malformed_chunk_ends_the_stream(openai_emu: OpenAIEmulator) -> None:
    """The garbled event after two content chunks: a bare JSONDecodeError from the SDK."""
    openai_emu.script(malformed(after=2))
    received: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        received.extend(_raw_stream(openai_emu))
    assert len(received) == 3  # the role chunk and two content chunks, then nothing


def test_context_length_bodies(openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator) -> None:
    """OpenAI's 400 context_length_exceeded and Ollama's form, each stating its window."""
    openai_emu.script(context_length(window=8192))
    with pytest.raises(openai.BadRequestError) as caught:
        list(_raw_stream(openai_emu))
    assert (caught.value.code, caught.value.param) == ("context_length_exceeded", "messages")
    assert "maximum context length is 8192 tokens" in caught.value.message
    ollama_emu.script(context_length())
    with pytest.raises(ollama.ResponseError) as refused:
        ollama.Client(host=ollama_emu.base_url).chat(model=QWEN, messages=[])
    inner = json.loads(refused.value.error)["error"]
    assert (refused.value.status_code, inner["type"], inner["n_ctx"]) == (
        400, "exceed_context_size_error", 4096,
    )  # fmt: skip


def test_openai_connection_refused() -> None:
    """A stopped emulator refuses connections: `openai.APIConnectionError`."""
    with OpenAIEmulator() as emu:
        llm = chat_openai(emu)
    with pytest.raises(openai.APIConnectionError) as caught:
        llm.invoke("hi")
    assert isinstance(caught.value, lc_exc.ModelConnectionError)
    assert not isinstance(caught.value, openai.APITimeoutError)


# --- Ollama --------------------------------------------------------------------------


def test_ollama_invoke_and_stream(ollama_emu: OllamaEmulator, ollama_llm: ChatOllama) -> None:
    """ChatOllama gets the echo whole, and as several NDJSON pieces."""
    assert ollama_llm.invoke("hello there").content == OLLAMA_ECHO
    assert joined(list(ollama_llm.stream("hello there"))) == OLLAMA_ECHO


async def test_ollama_ainvoke_and_astream(fresh_ollama_emu: OllamaEmulator) -> None:
    """The async ChatOllama path gets the same echo, whole and streamed."""
    llm = chat_ollama(fresh_ollama_emu)
    assert (await llm.ainvoke("hello there")).content == OLLAMA_ECHO
    assert joined([c async for c in llm.astream("hello there")]) == OLLAMA_ECHO


def test_ollama_tool_calls(ollama_emu: OllamaEmulator, ollama_llm: ChatOllama) -> None:
    """Scripted tool calls come back as `AIMessage.tool_calls` (Ollama sends no ids)."""
    ollama_emu.script(ok(tool_calls=[WEATHER]))
    calls = ollama_llm.invoke("weather?").tool_calls
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": "Paris"})]


def test_ollama_non_stream_and_probes(ollama_emu: OllamaEmulator) -> None:
    """`stream: false` gets one JSON object; `/` and `/api/tags` answer like Ollama."""
    with closing(ollama.Client(host=ollama_emu.base_url)) as client:
        reply = client.chat(model=QWEN, messages=[{"role": "user", "content": "hello there"}])
        assert reply.message.content == OLLAMA_ECHO
        assert [m.model for m in client.list().models] == [QWEN]
    with urllib.request.urlopen(ollama_emu.base_url + "/") as response:
        assert response.read() == b"Ollama is running"


@pytest.mark.parametrize(
    ("behaviour", "status", "text"),
    [
        (not_found(), 404, f'model "{QWEN}" not found, try pulling it first'),
        (busy(), 503, "server busy, please try again.  maximum pending requests exceeded"),
        (server_error(), 500, "llama runner process has terminated"),
        (unauthorized(), 401, "unauthorized"),
        (bad_request("bad"), 400, "bad"),
        (quota(), 429, "usage limit"),
    ],
)
def test_ollama_status_errors(
    ollama_emu: OllamaEmulator, behaviour: Behaviour, status: int, text: str, ollama_llm: ChatOllama
) -> None:
    """HTTP faults raise `ollama.ResponseError` with the status and Ollama's error text."""
    ollama_emu.script(behaviour)
    with pytest.raises(ollama.ResponseError) as caught:
        ollama_llm.invoke("hi")
    assert caught.value.status_code == status
    assert text in caught.value.error


def test_ollama_empty_stream(ollama_emu: OllamaEmulator, ollama_llm: ChatOllama) -> None:
    """An empty 200 body makes ChatOllama raise its own ValueError."""
    ollama_emu.script(empty())
    with pytest.raises(ValueError, match=r"^No data received from Ollama stream\.$"):
        ollama_llm.invoke("hi")


def test_ollama_unterminated_and_malformed(
    ollama_emu: OllamaEmulator, ollama_llm: ChatOllama
) -> None:
    """Without its `done` message the stream just stops; a garbled line raises JSONDecodeError."""
    ollama_emu.script(unterminated(), malformed(after=1))
    answer = aggregate(list(ollama_llm.stream("hello there")))
    assert answer.content == OLLAMA_ECHO and "done" not in answer.response_metadata
    with pytest.raises(json.JSONDecodeError):
        list(ollama_llm.stream("hello there"))


def test_ollama_cut(ollama_emu: OllamaEmulator, ollama_llm: ChatOllama) -> None:
    """A cut stream surfaces unwrapped as `httpx.RemoteProtocolError`."""
    ollama_emu.script(cut(after=2))
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        ollama_llm.invoke("hi")


def test_ollama_hang_times_out(ollama_emu: OllamaEmulator) -> None:
    """A hang surfaces unwrapped as `httpx.ReadTimeout`."""
    ollama_emu.script(hang())
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        chat_ollama(ollama_emu, timeout=0.5).invoke("hi")
    assert time.monotonic() - started < 1.5


def test_ollama_connection_refused() -> None:
    """ChatOllama (always streaming) raises `httpx.ConnectError`, not builtin ConnectionError."""
    with OllamaEmulator() as emu:
        llm = chat_ollama(emu)
    with pytest.raises(httpx.ConnectError) as caught:
        llm.invoke("hi")
    assert not isinstance(caught.value, ConnectionError)


async def test_async_faults_raise_the_same_types(
    fresh_openai_emu: OpenAIEmulator, fresh_ollama_emu: OllamaEmulator
) -> None:
    """The async paths (ainvoke, astream) raise exactly the types the sync paths do."""
    gpt, qwen = chat_openai(fresh_openai_emu), chat_ollama(fresh_ollama_emu)
    fresh_openai_emu.script(quota(), cut())
    fresh_ollama_emu.script(busy(), cut())
    with pytest.raises(openai.RateLimitError):
        await gpt.ainvoke("hi")
    with pytest.raises(openai.APIConnectionError):
        [c async for c in gpt.astream("hi")]
    with pytest.raises(ollama.ResponseError) as caught:
        await qwen.ainvoke("hi")
    assert caught.value.status_code == 503
    with pytest.raises(httpx.RemoteProtocolError):
        [c async for c in qwen.astream("hi")]


# --- Scripting, recording, lifecycle -------------------------------------------------


def test_script_is_fifo_then_always(openai_emu: OpenAIEmulator) -> None:
    """Scripted behaviours are consumed in order, then `always()` applies, until `reset()`."""
    openai_emu.script(ok("one"), ok("two"))
    openai_emu.always(ok("default"))
    llm = chat_openai(openai_emu)
    assert [llm.invoke("hi").content for _ in range(4)] == ["one", "two", "default", "default"]
    openai_emu.reset()
    assert openai_emu.requests == []
    assert llm.invoke("hello there").content == OPENAI_ECHO


def test_requests_are_recorded_without_secrets(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, ollama_llm: ChatOllama
) -> None:
    """Requests record model, messages, stream flag and whether auth came, never the key."""
    chat_openai(openai_emu).invoke("hello there")
    list(chat_openai(openai_emu).stream("hello there"))
    ollama_llm.invoke("hello there")
    first, second = openai_emu.requests
    assert (first.path, first.model, first.stream, first.has_auth) == (
        "/v1/chat/completions",
        GPT,
        False,
        True,
    )
    assert first.messages == [{"role": "user", "content": "hello there"}]
    assert second.stream
    assert "sk-test" not in repr(openai_emu.requests)
    (local,) = ollama_emu.requests
    assert (local.path, local.model, local.stream, local.has_auth) == (
        "/api/chat",
        QWEN,
        True,
        False,
    )


def test_delay_holds_a_call_mid_flight(openai_emu: OpenAIEmulator) -> None:
    """`ok(delay=...)` records the request at once but answers only after the delay."""
    openai_emu.script(ok("late", delay=0.2))
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(chat_openai(openai_emu).invoke("x")))
    worker.start()
    while not openai_emu.requests:
        time.sleep(0.01)
    assert results == []
    worker.join(timeout=2)
    assert results[0].content == "late"


def test_stop_ends_a_hanging_request_and_frees_the_port() -> None:
    """`stop()` cancels a hang at once; the waiting client then fails, and the port is closed."""
    emu = OpenAIEmulator().start()
    emu.always(hang())
    errors: list[BaseException] = []

    def call() -> None:
        try:
            chat_openai(emu, timeout=10).invoke("hi")
        except openai.APIConnectionError as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    while not emu.requests:
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop()
    worker.join(timeout=2)
    assert time.monotonic() - started < 1
    assert len(errors) == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{emu.port}/", timeout=1)


async def test_serves_many_concurrent_streams(openai_emu: OpenAIEmulator) -> None:
    """Three hundred concurrent streams are all served, in full, by the one emulator thread."""
    url = openai_emu.base_url + "/chat/completions"

    async def one(session: aiohttp.ClientSession, i: int) -> bytes:
        body = {"model": GPT, "stream": True, "messages": [{"role": "user", "content": f"n{i}"}]}
        async with session.post(url, json=body) as response:
            return await response.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        bodies = await asyncio.gather(*(one(session, i) for i in range(300)))
    assert all(body.endswith(b"data: [DONE]\n\n") for body in bodies)
    assert len(openai_emu.requests) == 300


def test_unknown_kind_is_rejected() -> None:
    """A misspelt kind fails loudly instead of silently answering 200."""
    with pytest.raises(ValueError, match="unknown behaviour kind"):
        Behaviour(kind="qouta")  # type: ignore[arg-type]
