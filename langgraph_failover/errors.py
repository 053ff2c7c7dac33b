"""What a provider error means: the one place that classifies them.

`classify(exc)` turns an exception raised by a provider SDK (openai, ollama, or the
httpx transports under them) into a plain `Failure` dict, or returns `None` when it does
not recognise the error. Everything else in the package reads that decision: nodes catch
only what `classify` recognises, routers read the recorded kind from state, and what a
kind leads to (raised or failed over, retried, how it moves the circuit) is its entry in
`kinds.KINDS`.

Default-deny: an error we do not recognise is re-raised, never failed over, because
failing over on a bug in our own code or the app's would hide it.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import httpx
import ollama
import openai

from langgraph_failover.kinds import KINDS
from langgraph_failover.kinds import ErrorKind as ErrorKind  # its home; re-exported with `Failure`
from langgraph_failover.secrets import mask
from langgraph_failover.streams import malformed
from langgraph_failover.windows import exceeded

try:  # openai>=3 ships its own fork of httpx; its transport errors are distinct classes.
    import httpx2

    _TIMEOUTS: tuple[type[BaseException], ...] = (httpx.TimeoutException, httpx2.TimeoutException)
    _TRANSPORT: tuple[type[BaseException], ...] = (httpx.TransportError, httpx2.TransportError)
    _PROTOCOL: tuple[type[BaseException], ...] = (
        httpx.RemoteProtocolError,
        httpx2.RemoteProtocolError,
    )
except ImportError:  # pragma: no cover - older openai releases use httpx itself
    _TIMEOUTS = (httpx.TimeoutException,)
    _TRANSPORT = (httpx.TransportError,)
    _PROTOCOL = (httpx.RemoteProtocolError,)

# Ollama's 400 for a model without tool support; small local models often lack it.
NO_TOOL_SUPPORT = "does not support tools"
NO_REQUEST = "; no request made"
"""How the detail of an attempt that made no request ends; the message before it is the cause."""
REFUSED = "connection refused: "
"""How the detail of a refused connection starts: nothing listens at the provider's URL."""

# The messages langchain-ollama and langchain-core give an answer that never came: a
# provider that streams nothing is as broken as one that answers 500.
_EMPTY_STREAM = frozenset(
    {
        "No data received from Ollama stream.",
        "No generation chunks were returned",
        "No generations found in stream.",
    }
)
_DETAIL_LIMIT = 300


class Failure(TypedDict):
    """A classified provider error, as plain data that can go into a checkpoint."""

    kind: ErrorKind
    status_code: int | None
    retry_after: float | None
    detail: str


class ConfigError(ValueError):
    """A setting has a value the graph cannot be built with.

    Raised by `build_graph` and `create_chat_model` before any request, its message
    naming the variable, the value and what it accepts
    (`LLM_FAILOVER_TURN_BUDGET: must be a positive number of seconds, got '0'`), and by a
    run whose context sets a field it may not (`context timeout: runs of this graph may
    not set it`). A setting that needs an extra not installed says which one.
    """


class AllProvidersFailed(RuntimeError):
    """Every provider in the chain failed this turn; `attempts` says how.

    The message names each provider's cause: the error kind and HTTP status of a request
    that failed, the reason of one that made none (`circuit open after insufficient_quota,
    240 s left`; a provider the turn skipped at its start is an attempt too), so an app
    matching "quota" or "429" in it finds them. Raised only by a chain without the mock
    (`LLM_FALLBACK_PROVIDER=none`, or a run's `providers` leaving it out); with the mock
    last, a turn always has an answer.

    Attributes:
        attempts: One dict per attempt of the turn, in order (a provider retried after a
            `Retry-After` or a 5xx has several): `provider`, `model`, `node`, `ok`,
            `error` (the kind), `status_code`, `latency_ms`, `detail` and the rest of the
            state's `attempts` records.

    """

    def __init__(self, attempts: Sequence[Mapping[str, Any]]) -> None:
        self.attempts = [dict(a) for a in attempts]
        causes = [f"{a['provider']}({a['model']}): {_cause(a)}" for a in self.attempts]
        super().__init__(f"all providers failed: {'; '.join(causes) or 'no provider was tried'}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.attempts,))


def _cause(attempt: Mapping[str, Any]) -> str:
    """What went wrong: the reason no request was made, else the kind and HTTP status."""
    detail = attempt.get("detail") or ""
    if detail.endswith(NO_REQUEST):
        return detail.removesuffix(NO_REQUEST)
    status = attempt.get("status_code")
    return f"{attempt['error']}" + (f" [{status}]" if status else "")


def seconds_left(seconds: float) -> str:
    """How long a circuit stays open, in words: whole seconds, rounded up."""
    return f"{max(math.ceil(seconds), 0)} s left"


class InvalidInput(ValueError):
    """A run's input or thread id was refused before anything was stored or asked.

    The message says what was wrong (`thread_id: missing; a graph with a checkpointer
    needs config={'configurable': {'thread_id': '<conversation id>'}}`, `input: expected a
    dict with 'messages' ...`); the thread is as it was.
    """


class ThreadBusy(RuntimeError):
    """Another turn held the thread longer than this one may wait; nothing was done.

    Turns on one thread run one at a time; a second waits for the first, at most the turn
    budget plus the timeout, then gets this. Nothing was stored and no provider was
    called, so trying again is safe.

    Attributes:
        thread_id: The thread that was busy.
        waited: Seconds this turn waited for it.

    """

    def __init__(self, thread_id: str, waited: float) -> None:
        self.thread_id, self.waited = thread_id, waited
        shown = thread_id if len(thread_id) <= 80 else f"{thread_id[:80]}..."
        super().__init__(
            f"thread {shown!r} is busy: another turn on it did not finish within "
            f"{waited:g}s; nothing was stored and no provider was called, try again"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.thread_id, self.waited))


def redact(text: str) -> str:
    """Mask API-key shapes and URL credentials, and cap the length (errors go into state).

    The node masks the configured secrets first (`secrets.mask_error`), whatever their
    shape, so the cap never cuts one in half before it is found.
    """
    return mask(text)[:_DETAIL_LIMIT]


def classify(exc: BaseException) -> Failure | None:
    """Return what `exc` means for failover, or `None` if it is not a provider error.

    Args:
        exc: An exception raised by a provider call (the openai or ollama SDK, or the
            httpx transport under them).

    Returns:
        A `Failure` dict (`kind`, such as `insufficient_quota`, `rate_limited`,
        `server_error`, `timeout` or `connection`; `status_code`; `retry_after` in seconds
        for a 429; a masked `detail`), or `None` for an error it does not recognise,
        which the graph re-raises rather than fail over.

    """
    if isinstance(exc, openai.APIStatusError):
        return _openai_status(exc)
    if isinstance(exc, openai.APITimeoutError):
        return _failure("timeout", None, exc)
    if isinstance(exc, openai.APIConnectionError):
        return _failure("connection", None, exc, about=_refusal(exc))
    if isinstance(exc, ollama.ResponseError):
        return _ollama_status(exc)
    if isinstance(exc, (*_TIMEOUTS, TimeoutError)):
        return _failure("timeout", None, exc)
    # ollama turns httpx.ConnectError into the builtin ConnectionError (non-streaming
    # requests only); streaming requests leak the httpx transport errors themselves.
    if isinstance(exc, (*_TRANSPORT, ConnectionError)):
        return _failure("connection", None, exc, about=_refusal(exc))
    if isinstance(exc, ValueError) and str(exc) in _EMPTY_STREAM:
        return _failure("server_error", None, exc)
    if malformed(exc):  # only from inside an SDK: the app's own is a bug
        return _failure("server_error", None, exc, about="malformed data from the provider: ")
    return None


def _refusal(exc: BaseException) -> str:
    """`REFUSED` when the server refused the connection (the SDKs wrap the socket's error)."""
    seen: BaseException | None = exc
    for _ in range(8):  # a bound, as chains may loop
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return REFUSED
        seen = seen.__cause__ or seen.__context__
    return ""


def _openai_status(exc: openai.APIStatusError) -> Failure | None:
    status = exc.status_code
    if status == 429:
        # Both arrive as RateLimitError; only the body's code tells them apart.
        quota = "insufficient_quota" in (exc.code, exc.type)
        kind: ErrorKind = "insufficient_quota" if quota else "rate_limited"
        return _failure(kind, status, exc, retry_after(exc.response.headers))
    if status == 503:  # its Retry-After, if any, is honoured as a 429's is
        return _failure("server_error", status, exc, retry_after(exc.response.headers))
    return _by_status(status, exc)


def _ollama_status(exc: ollama.ResponseError) -> Failure | None:
    # status -1 is an error object sent inside a 200 stream: the model failed mid-answer.
    status = exc.status_code if exc.status_code > 0 else None
    if status is None:
        return _failure("server_error", None, exc)
    return _by_status(status, exc)


def _by_status(status: int, exc: BaseException) -> Failure | None:
    kind = status_kind(status, str(exc), _code(exc))
    return None if kind is None else _failure(kind, status, exc)


def status_kind(status: int, text: str, code: object = None) -> ErrorKind | None:
    """The kind of an HTTP error from its status, its message and its body's `code`."""
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 400 and NO_TOOL_SUPPORT in text:
        return "tools_unsupported"  # the node asks once more without the tools
    if status in (400, 413) and (exceeded(text) or code == "context_length_exceeded"):
        return "context_length"  # the next provider, its history fitted, may answer
    if status in (400, 413, 422):
        return "bad_request"
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else None


def keep_status(exc: BaseException) -> BaseException:
    """`exc` with its HTTP status in its repr, which is all a checkpoint keeps of it.

    Ollama's `ResponseError` leaves the status out of its args; put back, its repr is the
    call that rebuilds it (`ResponseError("...", 400)`) and `history` can tell its kind.
    Its message is unchanged. Returns `exc`, changed in place.
    """
    if isinstance(exc, ollama.ResponseError) and len(exc.args) == 1:
        exc.args = (exc.error, exc.status_code)
    return exc


def _code(exc: BaseException) -> object:
    """The `code` of an OpenAI error body (openai>=3 leaves it out of the message)."""
    return getattr(exc, "code", None)


def _failure(
    kind: ErrorKind,
    status: int | None,
    exc: BaseException,
    after: float | None = None,
    *,
    about: str = "",
) -> Failure:
    detail = redact(f"{about}{type(exc).__name__}: {exc}")
    return {"kind": kind, "status_code": status, "retry_after": after, "detail": detail}


TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
"""Statuses of a server fault that a quick retry of the same provider often outlasts."""
# h11's words (httpx's HTTP/1.1 layer) when the server closes before any response byte.
_NO_RESPONSE = "Server disconnected without sending a response"


def transient(exc: BaseException, failure: Failure) -> bool:
    """Whether `exc`, classified as `failure`, is worth a quick retry of the same provider.

    A 500, 502, 503 without `Retry-After` or 504, or a connection the server dropped
    before sending any response. Conservative on purpose: a refused connection, a timeout,
    a stream cut mid-answer or an error inside a 200 are not, since a retry would wait out
    the same fault again or repeat a half-sent answer; a `Retry-After` has its own rule.
    """
    if failure["retry_after"] is not None or KINDS[failure["kind"]].retry != "backoff":
        return False
    if failure["kind"] == "server_error":
        return failure["status_code"] in TRANSIENT_STATUS
    seen: BaseException | None = exc
    for _ in range(8):  # the SDKs wrap the transport error; a bound, as chains may loop
        if seen is None:
            break
        if isinstance(seen, _PROTOCOL) and str(seen).startswith(_NO_RESPONSE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: `retry-after-ms`, else `retry-after`."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
