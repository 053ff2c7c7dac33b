"""What every scenario shares: the emulators, the shared client, checkpointers, sizes.

`Env` is built once per run. Checkpointers are made fresh per scenario, SQLite on a
real file in a temporary folder, as an app keeps it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from bench.peers import Upstreams, shared_openai
from bench.remote import RemoteEmulator

Saver = Literal["none", "memory", "sqlite"]


@dataclass(frozen=True, slots=True)
class Env:
    """The emulators, where they listen, the shared `ChatOpenAI` and the run's sizes."""

    openai: RemoteEmulator
    ollama: RemoteEmulator
    up: Upstreams
    client: ChatOpenAI
    tmp: Path
    quick: bool

    def reset(self) -> None:
        """Both emulators healthy, with no script and no recorded requests."""
        self.openai.reset()
        self.ollama.reset()

    def size(self, full: int, quick: int) -> int:
        """A repetition count: `full`, or `quick` for a smoke run."""
        return quick if self.quick else full

    @contextlib.contextmanager
    def saver(self, kind: Saver) -> Iterator[BaseCheckpointSaver[Any] | None]:
        """A fresh checkpointer of `kind` (None for "none"); SQLite in a file of its own."""
        if kind == "none":
            yield None
        elif kind == "memory":
            yield InMemorySaver()
        else:
            path = self.tmp / f"{uuid.uuid4().hex}.sqlite"
            conn = sqlite3.connect(path, check_same_thread=False)
            try:
                yield SqliteSaver(conn)
            finally:
                conn.close()


@contextlib.contextmanager
def started(tmp: Path, *, quick: bool) -> Iterator[Env]:
    """Start both emulators in child processes and yield the run's `Env`."""
    with RemoteEmulator("openai") as openai_emu, RemoteEmulator("ollama") as ollama_emu:
        up = Upstreams(openai=openai_emu.base_url, ollama=ollama_emu.base_url)
        yield Env(openai_emu, ollama_emu, up, shared_openai(up), tmp, quick)


def thread_id() -> str:
    """A new conversation's id."""
    return uuid.uuid4().hex


def history(n: int) -> list[BaseMessage]:
    """A conversation of `n` messages (user and assistant in turn, about 25 words each)."""
    words = "could you explain the difference between the particles wa and ga again please"
    out: list[BaseMessage] = []
    for i in range(n):
        text = f"{i}: {words} {words}"
        out.append(HumanMessage(text) if i % 2 == 0 else AIMessage(text))
    return out


def ask(i: int) -> HumanMessage:
    """The user's message of turn `i`."""
    return HumanMessage(f"turn {i}: and how do I say thank you politely?")
