"""What an emulator does with one chat request: answer, fail, stall or drop the connection.

A `Behaviour` is plain immutable data; the emulators turn it into the provider's exact wire
format. Build them with the factory functions (`ok()`, `quota()`, `cut(after=3)`, ...)
rather than by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal[
    "ok",
    "quota",
    "rate_limited",
    "server_error",
    "unauthorized",
    "forbidden",
    "bad_request",
    "not_found",
    "hang",
    "cut",
    "busy",
    "empty",
    "malformed",
    "unterminated",
    "context_length",
]
"""The fault (or success) an emulator plays back for one request."""

_KINDS = frozenset(get_args(Kind))


@dataclass(frozen=True, kw_only=True, slots=True)
class Behaviour:
    """One scripted answer to one chat request."""

    kind: Kind
    """Which answer to give; see the factory function of the same name."""

    text: str | None = None
    """Reply text for `ok` (None: the deterministic echo), or the error message of
    `bad_request` and `unauthorized`."""

    tool_calls: tuple[dict[str, Any], ...] = ()
    """LangChain-style tool calls (`{"name", "args", "id"}`) the reply asks for."""

    status: int | None = None
    """HTTP status to use instead of the kind's usual one."""

    retry_after: float | None = None
    """Seconds sent in the `retry-after` header, if any."""

    retry_after_ms: float | None = None
    """Milliseconds sent in the `retry-after-ms` header, if any (OpenAI only)."""

    seconds: float = 3600.0
    """How long a `hang` stays silent before the connection is dropped."""

    after: int = 2
    """How many content chunks a `cut` sends before dropping the connection, or a
    `malformed` stream before its bad chunk."""

    delay: float = 0.0
    """Seconds to wait before answering (any kind but `hang`), to hold a provider mid-call."""

    finish: bool = False
    """Whether an `unterminated` stream still sends its finish reason (and usage)."""

    window: int | None = None
    """The context window a `context_length` error states (None: the provider's usual)."""

    num_ctx: int | None = None
    """Ollama only: the context window an `ok` answer cuts the prompt to, from the front,
    silently, as Ollama does; its `prompt_eval_count` then says only what was kept."""

    first_token: float = 0.0
    """Seconds between the stream's headers (sent at once) and its first content chunk."""

    stall_after: int | None = None
    """How many content chunks an `ok` stream sends before going silent for `seconds`."""

    every: float = 0.0
    """Seconds between two content chunks of a stream: a slow but steady model."""

    def __post_init__(self) -> None:
        # A typo in a test script would otherwise surface as a confusing 200.
        if self.kind not in _KINDS:
            raise ValueError(f"unknown behaviour kind {self.kind!r}; expected one of {_KINDS}")


def ok(
    text: str | None = None,
    *,
    tool_calls: tuple[dict[str, Any], ...] | list[dict[str, Any]] = (),
    delay: float = 0.0,
    num_ctx: int | None = None,
    every: float = 0.0,
) -> Behaviour:
    """Answer normally: `text`, or the echo `[provider model] reply to: <last user text>`.

    With `tool_calls` and no `text`, the reply content is empty, as real models do. With
    `num_ctx` (Ollama), a longer prompt is cut to it unannounced, as `prompt_eval_count` shows.
    A stream sends its content chunks `every` seconds apart.
    """
    calls = tuple(tool_calls)
    return Behaviour(kind="ok", text=text, tool_calls=calls, delay=delay, num_ctx=num_ctx,
                     every=every)  # fmt: skip


def slow_first_token(seconds: float, text: str | None = None) -> Behaviour:
    """Answer `ok`, its first content chunk `seconds` late; a stream's headers come at once.

    A non-streamed answer comes whole after `seconds`.
    """
    return Behaviour(kind="ok", text=text, first_token=seconds)


def stall(after: int = 3, seconds: float = 3600.0, text: str | None = None) -> Behaviour:
    """Answer `ok`, but go silent for `seconds` after `after` content chunks, then finish.

    A non-streamed answer comes whole after `seconds`.
    """
    return Behaviour(kind="ok", text=text, stall_after=after, seconds=seconds)


def quota() -> Behaviour:
    """Answer 429 `insufficient_quota`: the account is out of credit, retrying won't help."""
    return Behaviour(kind="quota")


def rate_limited(
    retry_after: float | None = None, retry_after_ms: float | None = None
) -> Behaviour:
    """Answer 429 `rate_limit_exceeded`, with `retry-after`/`retry-after-ms` headers if given."""
    return Behaviour(kind="rate_limited", retry_after=retry_after, retry_after_ms=retry_after_ms)


def server_error(status: int = 500, *, retry_after: float | None = None) -> Behaviour:
    """Answer a 5xx server error (500 unless `status` says otherwise).

    With `retry_after`, the `retry-after` header says when to come back (a 503's may).
    """
    return Behaviour(kind="server_error", status=status, retry_after=retry_after)


def unauthorized(message: str | None = None) -> Behaviour:
    """Answer 401: the API key is wrong.

    `message` replaces the provider's usual text (some gateways echo the whole key there).
    """
    return Behaviour(kind="unauthorized", text=message)


def forbidden() -> Behaviour:
    """Answer 403: the caller may not use this API (OpenAI: unsupported region)."""
    return Behaviour(kind="forbidden")


def bad_request(message: str = "Invalid 'messages': the request was rejected.") -> Behaviour:
    """Answer 400 with `message`: the request itself is wrong, another provider may differ."""
    return Behaviour(kind="bad_request", text=message)


def not_found() -> Behaviour:
    """Answer 404: the model does not exist (Ollama: not pulled)."""
    return Behaviour(kind="not_found")


def hang(seconds: float = 3600.0) -> Behaviour:
    """Accept the request, send nothing for `seconds`, then drop the connection."""
    return Behaviour(kind="hang", seconds=seconds)


def cut(after: int = 2) -> Behaviour:
    """Start answering, then drop the TCP connection after `after` content chunks."""
    return Behaviour(kind="cut", after=after)


def busy() -> Behaviour:
    """Answer 503 (Ollama: "server busy, please try again.  maximum pending requests ...")."""
    return Behaviour(kind="busy")


def empty() -> Behaviour:
    """Answer 200 with nothing in it (Ollama: empty body; OpenAI: no content)."""
    return Behaviour(kind="empty")


def malformed(after: int = 2) -> Behaviour:
    """Stream `after` content chunks, then one that is not JSON, then the rest.

    As a garbling proxy sends it. Not streamed: a 200 whose JSON body is cut short.
    """
    return Behaviour(kind="malformed", after=after)


def unterminated(*, finish: bool = False) -> Behaviour:
    """Stream the answer and close the connection cleanly without its terminator.

    OpenAI: no `data: [DONE]`, and with `finish=False` no chunk with a finish reason
    (nor usage) either. Ollama: no closing `"done": true` message (its only terminator,
    so `finish=True` there is a whole answer). Not streamed: an ordinary answer.
    """
    return Behaviour(kind="unterminated", finish=finish)


def context_length(window: int | None = None) -> Behaviour:
    """Answer 400: the prompt exceeds the model's context window of `window` tokens.

    OpenAI: code `context_length_exceeded`, "This model's maximum context length is N
    tokens..." (default 128,000). Ollama (asked not to truncate): its 400 carrying the
    llama.cpp runner's `exceed_context_size_error` with `n_ctx` (default 4,096).
    """
    return Behaviour(kind="context_length", window=window)
