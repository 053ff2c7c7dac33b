"""The shipped emulators, each in a child process of its own, driven over a pipe.

In the benchmark's own process an emulator would share the GIL with the clients it
serves, and every request it answers would be counted against the tool being measured.
In a child process it runs on the other core; the parent scripts it exactly as it would
an in-process `OpenAIEmulator` or `OllamaEmulator` (`always`, `script`, `reset`,
`rate_limits`) and asks how many chat requests it received (or refused as over the limit).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Literal, Self

from langgraph_failover.testing import Behaviour, Emulator, OllamaEmulator, OpenAIEmulator

Provider = Literal["openai", "ollama"]


def _serve(provider: Provider, conn: Connection) -> None:
    """The child: start the emulator, then carry out the parent's commands until `stop`."""
    emulator: Emulator = OpenAIEmulator() if provider == "openai" else OllamaEmulator()
    emulator.start()
    conn.send(emulator.base_url)
    while True:
        command, args = conn.recv()
        if command == "stop":
            emulator.stop()
            conn.send(None)
            return
        if command == "count":
            conn.send(len(emulator.requests))
            continue
        if command == "limited":  # a property of the OpenAI emulator's rate limit
            conn.send(getattr(emulator, "limited", 0))
            continue
        getattr(emulator, command)(*args)
        conn.send(None)


class RemoteEmulator:
    """An emulator in a child process, with the scripting methods of the in-process one."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.base_url = ""
        self._conn: Connection | None = None
        self._process: Any = None

    def start(self) -> Self:
        """Spawn the child and wait until its server listens."""
        context = multiprocessing.get_context("spawn")  # no inherited threads or loops
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(self.provider, child), name=f"{self.provider}-emulator"
        )
        self._process.daemon = True
        self._process.start()
        self._conn = parent
        self.base_url = str(parent.recv())
        return self

    def _ask(self, command: str, *args: Any) -> Any:
        if self._conn is None:
            raise RuntimeError("the emulator is not running")
        self._conn.send((command, args))
        return self._conn.recv()

    def always(self, behaviour: Behaviour) -> None:
        """Answer every request with `behaviour` once the script is used up."""
        self._ask("always", behaviour)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue one behaviour per coming request."""
        self._ask("script", *behaviours)

    def reset(self) -> None:
        """Healthy again, with no script and no recorded requests."""
        self._ask("reset")

    def count(self) -> int:
        """How many chat requests the emulator has received since the last reset."""
        n: int = self._ask("count")
        return n

    def rate_limits(self, requests: int | None, tokens: int | None, window: float) -> None:
        """Limit requests and tokens per fixed window, announced in `x-ratelimit-*` headers."""
        self._ask("rate_limits", requests, tokens, window)

    def limited(self) -> int:
        """How many requests the rate limit refused with a 429 since it was set."""
        n: int = self._ask("limited")
        return n

    def stop(self) -> None:
        """Stop the server and end the child."""
        if self._conn is None:
            return
        self._ask("stop")
        self._process.join(timeout=10)
        self._conn = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
