"""Stream deadlines: a provider's first token, and its silences once it streams.

The provider node asks for a stream even when its caller invoked, so that it can see
the first token come (`LLM_FAILOVER_FIRST_TOKEN_TIMEOUT`) and the gaps between chunks
(`LLM_FAILOVER_STALL_TIMEOUT`); the chunks are summed into the answer, as `invoke`
would have returned it. `Watch` decides; `collect` (sync) and `acollect` (async) only
wait. A sync stream blocks in its socket reads, so `collect` reads it in a worker
thread (`workers.py`: an idle one reused) and waits for it with a timeout; the thread,
once cut loose, closes the stream at its next chunk, or ends with the client's own read
timeout. A `_Gate`, first among the call's callbacks, stops that late chunk before
LangGraph's token stream (or any other callback) sees it.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import threading
import time
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, message_chunk_to_message
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig, ensure_config

from langgraph_failover.kinds import ErrorKind
from langgraph_failover.nodes.workers import WORKERS


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """One call's stream limits, in seconds (None: that limit is off)."""

    first_token: float | None
    """Until the first token or tool-call fragment."""
    stall: float | None
    """Between two chunks, once the first token came."""
    total: float | None = None
    """The whole call (`LLM_FAILOVER_TIMEOUT`), for sync callers; async ones have their own."""


class StreamCut(Exception):
    """A provider's stream was cut by one of the limits; the message says which."""

    kind: ErrorKind = "timeout"
    """What the attempt records it as."""


class Hedged(StreamCut):
    """A hedge's other call sent its first token first: this one is cancelled."""

    kind: ErrorKind = "hedged"


class Watch:
    """The clock of one stream: how long to wait for the next chunk, and what came."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.started = self.last = time.monotonic()
        self.chunks = 0
        self.answer: AIMessageChunk | None = None
        self.tokens = False
        """Whether a token (or tool-call fragment) came yet."""

    def wait(self) -> float | None:
        """Seconds the next chunk may take (None: no limit)."""
        now = time.monotonic()
        limit = self.limits.stall if self.tokens else self.limits.first_token
        waits = [] if limit is None else [limit - (now - self.last)]
        if self.limits.total is not None:
            waits.append(self.limits.total - (now - self.started))
        return max(min(waits), 0.0) if waits else None

    def seen(self, chunk: BaseMessage) -> None:
        """Add `chunk` to the answer; any chunk restarts the stall clock once tokens came."""
        self.last = time.monotonic()
        self.chunks += 1
        if isinstance(chunk, AIMessageChunk):
            self.answer = chunk if self.answer is None else self.answer + chunk
            self.tokens = self.tokens or bool(chunk.content or chunk.tool_call_chunks)

    def cut(self) -> StreamCut:
        """The error saying which limit the stream passed."""
        limits, total = self.limits, self.limits.total
        if total is not None and time.monotonic() - self.started >= total - 0.001:
            return StreamCut(f"no complete answer within {total:g} s")
        if not self.tokens:
            return StreamCut(f"no first token within {limits.first_token:g} s")
        return StreamCut(f"stalled {limits.stall:g} s after {self.chunks} chunks")

    def result(self) -> BaseMessage:
        """The summed answer, as `invoke` returns it (an empty one if nothing came)."""
        return message_chunk_to_message(self.answer) if self.answer else AIMessage(content="")


class _Gate(BaseCallbackHandler):
    """The first callback of a sync stream: once it is cut, no later token gets past."""

    raise_error = True  # its error ends the stream, before the next handlers see the token

    def __init__(self) -> None:
        self.closed = threading.Event()

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> Any:
        """Let the token through, unless the stream was cut already."""
        if self.closed.is_set():
            raise StreamCut("a chunk came after the stream was cut; dropped")


def gated(config: RunnableConfig, gate: BaseCallbackHandler) -> RunnableConfig:
    """`config` with the node's callbacks (LangGraph's token stream...) behind `gate`.

    A list of callbacks in a config is appended to the caller's (and managers merge as
    sets), so the gate is put first in a copy of the node's callbacks themselves.
    """
    callbacks = ensure_config(config).get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        gated = callbacks.copy()
        gated.handlers = [gate, *gated.handlers]
        gated.inheritable_handlers = [gate, *gated.inheritable_handlers]
        return {**config, "callbacks": gated}
    return {**config, "callbacks": [gate, *(callbacks or [])]}


def unbound(runnable: Any) -> tuple[Any, dict[str, Any]]:
    """The model under `bind()`'s layers, and the arguments they bind.

    A binding merges the config it is given with the node's, and two callback managers
    merge as a set: the gate would lose its place first among the handlers, and a cut
    stream's late token could reach LangGraph's token stream (seen with call options
    bound). So the streams are read from the model itself, with the bound arguments.
    """
    kwargs: dict[str, Any] = {}
    while isinstance(runnable, RunnableBinding) and not runnable.config:
        if runnable.config_factories:
            break
        kwargs, runnable = {**runnable.kwargs, **kwargs}, runnable.bound
    return runnable, kwargs


def collect(
    call: Runnable[Any, BaseMessage],
    messages: Any,
    config: RunnableConfig,
    limits: Limits,
    total: float | None,
) -> BaseMessage:
    """`call.stream(...)` summed into one answer, cut when a limit or `total` passes (sync).

    The worker thread sums the chunks itself and wakes the caller's thread only at the
    first token and at the end: a hand-over per chunk (a queue) cost about 0.5 ms per
    healthy answer of 16 chunks. The caller sleeps until the next deadline the stream
    could pass, and looks again, under the lock, at when the last chunk came.
    Async callers have the whole call's deadline already (`asyncio.timeout` around it).
    """
    gate = _Gate()
    loose, config = gate.closed, gated(config, gate)
    watch = Watch(dataclasses.replace(limits, total=total))
    lock, started, done = threading.Lock(), threading.Event(), threading.Event()
    ended: list[BaseException | None] = []

    model, bound = unbound(call)

    def pump() -> None:
        try:
            for chunk in model.stream(messages, config, **bound):
                if loose.is_set():
                    return  # closes the stream: its connection is not held any longer
                with lock:
                    watch.seen(chunk)
                if watch.tokens and not started.is_set():
                    started.set()  # the deadline now is the stall limit, maybe sooner
        except BaseException as exc:  # handed to the caller's thread, which judges it
            ended.append(exc)
        else:
            ended.append(None)
        finally:
            started.set()
            done.set()

    # The caller's context, so the callbacks (LangGraph's token stream) see the chunks.
    worker = contextvars.copy_context()
    WORKERS.run(lambda: worker.run(pump))
    try:
        for event in (started, done):
            # Woken at the first token and at the end; in between only at the deadline
            # the stream could pass, then looked at again: chunks may have moved it on.
            while not event.wait(watch.wait()):
                with lock:
                    if not event.is_set() and watch.wait() == 0.0:
                        raise watch.cut()
        if (error := ended[0]) is not None:
            raise error
        return watch.result()
    finally:
        loose.set()


async def acollect(
    call: Runnable[Any, BaseMessage],
    messages: Any,
    config: RunnableConfig,
    limits: Limits,
) -> BaseMessage:
    """`call.astream(...)` summed into one answer, cut when a limit passes (async)."""
    model, bound = unbound(call)
    stream = aiter(model.astream(messages, config, **bound))
    watch = Watch(limits)
    try:
        while True:
            limit = asyncio.timeout(watch.wait())
            try:
                async with limit:
                    chunk = await anext(stream)
            except StopAsyncIteration:
                return watch.result()
            except TimeoutError:
                if limit.expired():
                    raise watch.cut() from None
                raise  # the client's own, or the whole call's deadline around us
            watch.seen(chunk)
    finally:
        await stream.aclose()
