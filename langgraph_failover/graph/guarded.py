"""The compiled graph callers run: each run checked, then one turn per thread at a time.

`GuardedGraph` is the compiled failover graph with `stream` and `astream` wrapped: every
other way to run it (`invoke`, `ainvoke`, `batch`, `abatch`, `astream_events`, the
drop-in model, the LangGraph server) goes through one of the two. Before the run:

1. `guard.check_run` refuses bad input, and `check_context` a run context its deployer
   did not grant or that is out of bounds (`run.Plan.resolve`), before LangGraph stores
   any of it;
2. with a checkpointer of its own, the graph waits for the thread's previous turn to end
   (`turns.TURNS` in this process, plus `advisory` locks across workers on PostgreSQL),
   and then runs on the updated thread. Two turns sent at once are both kept, in order.

The wait is bounded by `turn_wait`, the graph's turn budget plus its provider timeout,
so a normal turn always gets through; a turn kept waiting longer is refused with
`ThreadBusy` before any provider is called. A graph without a checkpointer (the one
`langgraph dev` serves: the server runs one run per thread at a time) is only checked.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability

from langgraph_failover.errors import ThreadBusy
from langgraph_failover.graph.context import Context
from langgraph_failover.graph.guard import check_run
from langgraph_failover.graph.state import InputState, State
from langgraph_failover.graph.turns import TURNS

if TYPE_CHECKING:
    from langgraph_failover.graph.advisory import AdvisoryLocks

Compiled = CompiledStateGraph[State, Context, InputState, State]


class GuardedGraph(Compiled):
    """A compiled failover graph whose runs are checked and serialised per thread."""

    def __init__(
        self,
        *,
        turn_wait: float,
        check_context: Callable[[Any], Context],
        durability: Durability | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.turn_wait = turn_wait
        """Seconds a turn waits for the thread's previous one before `ThreadBusy`."""
        self.check_context = check_context
        """Raises `ConfigError` for a run context the graph's settings refuse."""
        self.durability = durability
        """A run's `durability` when its caller gives none (None: LangGraph's default)."""

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """`Pregel.stream`, checked and holding the thread for the whole run."""
        saver, thread, kwargs = self._target(input, config, kwargs)
        with _turn(saver, thread, self.turn_wait):
            yield from super().stream(input, config, **kwargs)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """`Pregel.astream`, checked and holding the thread for the whole run."""
        saver, thread, kwargs = self._target(input, config, kwargs)
        async with _aturn(saver, thread, self.turn_wait):
            async for part in super().astream(input, config, **kwargs):
                yield part

    def _target(
        self, input: Any, config: RunnableConfig | None, kwargs: dict[str, Any]
    ) -> tuple[Any, str | None, dict[str, Any]]:
        """Check the run; what it holds, and the keyword arguments to run it with.

        The checkpointer and thread to hold (None: nothing to hold), and `kwargs` with the
        graph's default durability and the checked context.
        """
        saver = self.checkpointer if isinstance(self.checkpointer, BaseCheckpointSaver) else None
        thread = check_run(input, merge_configs(self.config, config), checkpointed=bool(saver))
        context = kwargs.get("context")
        checked = self.check_context(context)
        if isinstance(context, Mapping):
            # The checked object itself, so the graph's nodes resolve it from its cache
            # instead of building and validating a second Context from the same dict.
            kwargs = {**kwargs, "context": checked}
        # `invoke` passes `durability=None` on; a caller's own choice wins.
        if self.durability is not None and kwargs.get("durability") is None:
            kwargs = {**kwargs, "durability": self.durability}
        return saver, thread, kwargs


def guarded(
    graph: Compiled,
    *,
    turn_wait: float,
    check_context: Callable[[Any], Context],
    durability: Durability | None = None,
) -> GuardedGraph:
    """`graph` as a `GuardedGraph`: the same graph, rebuilt as `Pregel.copy` rebuilds one."""
    fields = {name: value for name, value in vars(graph).items() if name != "__orig_class__"}
    return GuardedGraph(
        **fields, turn_wait=turn_wait, check_context=check_context, durability=durability
    )


@contextmanager
def _turn(saver: Any, thread: str | None, wait: float) -> Iterator[None]:
    """Hold the thread in this process, then across workers; sync callers."""
    if saver is None or thread is None:
        yield
        return
    key, deadline = (id(saver), thread), time.monotonic() + wait
    if not TURNS.acquire(key, wait):
        raise ThreadBusy(thread, wait)
    try:
        shared = _advisory_locks(saver)
        if shared is not None and not _poll(shared, thread, deadline):
            raise ThreadBusy(thread, wait)
        try:
            yield
        finally:
            if shared is not None:
                shared.unlock(thread)
    finally:
        TURNS.release(key)


@asynccontextmanager
async def _aturn(saver: Any, thread: str | None, wait: float) -> AsyncIterator[None]:
    """`_turn` for async callers: the same steps, waiting on the event loop."""
    if saver is None or thread is None:
        yield
        return
    key, deadline = (id(saver), thread), time.monotonic() + wait
    if not await TURNS.aacquire(key, wait):
        raise ThreadBusy(thread, wait)
    try:
        shared = _advisory_locks(saver)
        if shared is not None and not await _apoll(shared, thread, deadline):
            raise ThreadBusy(thread, wait)
        try:
            yield
        finally:
            if shared is not None:
                # Shielded: a cancelled caller must not leave the thread locked.
                await asyncio.shield(asyncio.to_thread(shared.unlock, thread))
    finally:
        TURNS.release(key)


def _advisory_locks(saver: Any) -> AdvisoryLocks | None:
    """The saver's cross-process locks (None: not PostgreSQL, so in-process only)."""
    # No PostgresSaver exists unless its module was loaded: the `postgres` extra (psycopg)
    # is imported only by those who use it.
    if "langgraph.checkpoint.postgres" not in sys.modules:
        return None
    from langgraph_failover.graph.advisory import advisory_locks

    return advisory_locks(saver)


def _pauses(deadline: float) -> Iterator[float]:
    """Pauses before each try of a lock held elsewhere: none, then longer, until `deadline`."""
    pause = 0.0
    while True:
        yield pause
        left = deadline - time.monotonic()
        if left <= 0:
            return
        pause = min(max(pause * 2, 0.01), 0.2, left)


def _poll(shared: AdvisoryLocks, thread: str, deadline: float) -> bool:
    """Try the advisory lock until it is ours (True) or `deadline` passes (False)."""
    for pause in _pauses(deadline):
        time.sleep(pause)
        if shared.try_lock(thread):
            return True
    return False


async def _apoll(shared: AdvisoryLocks, thread: str, deadline: float) -> bool:
    """`_poll` on the event loop; each try runs in a worker thread."""
    for pause in _pauses(deadline):
        await asyncio.sleep(pause)
        attempt = asyncio.ensure_future(asyncio.to_thread(shared.try_lock, thread))
        try:
            if await asyncio.shield(attempt):
                return True
        except asyncio.CancelledError:
            # The try goes on in its thread: if it wins, give the lock straight back.
            attempt.add_done_callback(lambda done: _give_back(done, shared, thread))
            raise
    return False


def _give_back(done: asyncio.Future[bool], shared: AdvisoryLocks, thread: str) -> None:
    if not done.cancelled() and done.exception() is None and done.result():
        asyncio.get_running_loop().run_in_executor(None, shared.unlock, thread)
