"""The emulator base: an aiohttp app on 127.0.0.1 in its own thread, scripted per request.

Running the server on a private event loop in a daemon thread lets sync tests, async tests
(whatever their loop) and benchmarks share one emulator. Subclasses only say how a
`Behaviour` looks on their provider's wire.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web

from langgraph_failover.testing.behaviours import Behaviour, bad_request, ok
from langgraph_failover.testing.shaping import Wanted, shaped
from langgraph_failover.testing.wire import (
    RecordedRequest,
    auth_digest,
    drop_connection,
    held,
    last_user_text,
)


class Emulator:
    """Base of the provider emulators: lifecycle, script queue and request recording.

    Use as `with OpenAIEmulator() as emu:` or call `start()` / `stop()`. Every chat request
    consumes the next scripted behaviour, or `always()`'s when the queue is empty.
    """

    provider: ClassVar[str]
    """The provider name used in the default echo reply."""
    base_path: ClassVar[str] = ""
    """Path appended to the server root to form `base_url`."""
    stream_default: ClassVar[bool] = False
    """Whether a body without a `stream` field asks for streaming (Ollama: yes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Behaviour] = deque()
        self._default = ok()
        self._requests: list[RecordedRequest] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    def routes(self) -> list[web.RouteDef]:
        """Return the routes this emulator serves (subclasses define them)."""
        raise NotImplementedError

    def charge(self, request: web.Request, body: dict[str, Any]) -> Behaviour | None:
        """Charge the request to a rate limit: the behaviour refusing it, or None (served)."""
        return None

    def wanted(self, body: dict[str, Any]) -> Wanted:
        """What this chat request demands of its answer (subclasses read their wire)."""
        return Wanted()

    async def respond(
        self, request: web.Request, recorded: RecordedRequest, behaviour: Behaviour
    ) -> web.StreamResponse:
        """Answer one chat request according to `behaviour` (subclasses implement)."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        """The TCP port the emulator listens on (0 before `start()`)."""
        return self._port

    @property
    def base_url(self) -> str:
        """The URL to give the client as `base_url`."""
        return f"http://127.0.0.1:{self._port}{self.base_path}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the chat requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def open_requests(self) -> int:
        """Chat requests being answered now; one whose client closed its connection ends."""
        return len(self._inflight)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours; each chat request consumes the oldest one."""
        with self._lock:
            self._queue.extend(behaviours)

    def always(self, behaviour: Behaviour) -> None:
        """Use `behaviour` whenever the script queue is empty."""
        with self._lock:
            self._default = behaviour

    def reset(self) -> None:
        """Forget the script, the recorded requests and `always()`; answer `ok()` again."""
        with self._lock:
            self._queue.clear()
            self._default = ok()
            self._requests.clear()

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._loop is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=loop.run_forever, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        self._loop = loop
        try:
            self._port = asyncio.run_coroutine_threadsafe(self._serve(), loop).result(10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel in-flight requests (hangs included), free the port and end the thread."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self) -> int:
        # Real providers take requests of many megabytes (aiohttp's default stops at 1 MB).
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(self.routes())
        # No access log: the benchmarks push thousands of requests through here.
        # handler_cancellation: a client that gives up (timeout) also ends its hang here.
        # shutdown_timeout only bounds stragglers: stop() has already cancelled chats.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        # A deep backlog so a burst of 1,000 connects doesn't wait on SYN retransmits.
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    async def _shutdown(self) -> None:
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self._default

    async def handle_chat(self, request: web.Request) -> web.StreamResponse:
        """Shared chat entry point: parse, record, pick a behaviour, delay, answer."""
        task = asyncio.current_task()
        if task is not None:
            # Tracked so stop() can cancel hangs instead of waiting them out.
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return await self._chat(request)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # Malformed JSON is a client bug, not a scripted fault: don't consume the queue.
            body, behaviour = {}, bad_request("We could not parse the JSON body of your request.")
        else:
            # A request over the rate limit is refused before the script is read.
            behaviour = self.charge(request, body) or self._next()
        recorded = RecordedRequest(
            path=request.path,
            model=str(body.get("model", "")),
            messages=list(body.get("messages") or []),
            stream=bool(body.get("stream", self.stream_default)),
            body=body,
            behaviour=behaviour,
            auth_digest=auth_digest(request.headers.get("Authorization")),
        )
        with self._lock:
            self._requests.append(recorded)
        if behaviour.kind == "hang":
            await asyncio.sleep(behaviour.seconds)
            return await drop_connection(request)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if not recorded.stream and (wait := held(behaviour)):
            await asyncio.sleep(wait)  # a whole answer waits for its slowest token
        answer = shaped(behaviour, self.wanted(body), self.echo(recorded))
        return await self.respond(request, recorded, answer)

    def echo(self, recorded: RecordedRequest) -> str:
        """Return the deterministic default reply: `[provider model] reply to: <user text>`."""
        return f"[{self.provider} {recorded.model}] reply to: {last_user_text(recorded.messages)}"

    def reply_text(self, recorded: RecordedRequest, behaviour: Behaviour) -> str:
        """Return the text an `ok` behaviour answers with."""
        if behaviour.text is not None:
            return behaviour.text
        return "" if behaviour.tool_calls else self.echo(recorded)
