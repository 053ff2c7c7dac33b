"""A hedge's race: the running provider, then its backup if the first token is late.

`Race.run` is one coroutine for sync and async callers alike (sync ones run it on
`background.py`'s loop): a cancelled async stream closes its connection at once, while a
sync one blocked in a socket read cannot be stopped from another thread. Each side is an
ordinary `Call`, streamed as `deadlines.acollect` does, with its own deadline and stream
limits; a `_Gate`, first among its callbacks, decides the race where a token passes: the
first side whose gate sees a token or tool-call fragment wins, at once and once (one event
loop, no await in between), and the other is cancelled. A backup that wins announces the
failover before its first token goes any further; a loser's token never does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler, adispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.runnables import RunnableConfig, ensure_config

from langgraph_failover.health.circuit import admission
from langgraph_failover.health.store import CircuitStore
from langgraph_failover.metrics import observe_failover
from langgraph_failover.nodes.attempt import Call, Link, announcement, failure
from langgraph_failover.nodes.deadlines import Hedged, Limits, acollect, gated

log = logging.getLogger("langgraph_failover")

_OPEN = Limits(first_token=None, stall=None)


@dataclasses.dataclass(eq=False, slots=True)
class Side:
    """One call of a race and what became of it."""

    call: Call
    task: asyncio.Task[None] | None = None
    cut: bool = False
    """Cancelled by the race: the other side's first token came first."""
    raised: Exception | None = None
    """What its call raised rather than failed over with (`Call.take` decides)."""

    def running(self) -> bool:
        """Whether its call is still under way."""
        return self.task is not None and not self.task.done()


class _Gate(AsyncCallbackHandler):
    """First among one side's callbacks: only the winner's tokens get past it."""

    run_inline = True  # awaited before the other handlers, in order, on the loop
    raise_error = True  # its error ends a loser's stream before the next handlers see it

    def __init__(self, race: Race, side: Side) -> None:
        self.race, self.side = race, side

    async def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        """Claim the race with a first token; refuse a loser's."""
        await self.race.passing(self.side, kwargs.get("chunk"))


def _token(chunk: Any) -> bool:
    message = getattr(chunk, "message", None)
    return isinstance(message, AIMessageChunk) and bool(message.content or message.tool_call_chunks)


class Race:
    """The primary's call, and the backup's once `after` seconds pass without a token.

    `run` returns when both are over, their outcomes taken by their `Call`s.
    """

    def __init__(self, primary: Call, link: Link, model: BaseChatModel, after: float) -> None:
        self.primary, self.link, self.model, self.after = Side(primary), link, model, after
        self.backup: Side | None = None
        self.winner: Side | None = None
        self.announced = False
        self._write: Callable[[Any], None] = lambda _: None
        self._config: RunnableConfig = {}
        self._settled: asyncio.Event | None = None

    async def run(self, store: CircuitStore, write: Callable[[Any], None]) -> None:
        """Race the calls; `write` is the graph's stream writer (`stream_mode="custom"`)."""
        self._write, self._config = write, ensure_config()  # the node's, for its events
        settled = self._settled = asyncio.Event()  # a first token came, or the primary ended
        primary = self.primary
        primary.task = asyncio.create_task(self._drive(primary))
        primary.task.add_done_callback(lambda _: settled.set())
        try:
            try:
                async with asyncio.timeout(self.after):
                    await settled.wait()
            except TimeoutError:
                await self._hedge(store)
            await asyncio.wait([s.task for s in self.sides() if s.task is not None])
        finally:  # cancelled from outside (the caller's own deadline): close both
            for side in self.sides():
                if side.running() and side.task is not None:
                    side.task.cancel()

    def sides(self) -> list[Side]:
        """The primary, then the backup if it was started."""
        return [self.primary] if self.backup is None else [self.primary, self.backup]

    async def _hedge(self, store: CircuitStore) -> None:
        """Start the backup, if its circuit admits a plain call (never a probe)."""
        first = self.primary.call
        call = Call(self.link, first.state, self.model, first.context, first.step)
        call.earlier = list(first.earlier)  # the entry edge's skips too, if it started here
        # Read only: a probe is a recovering provider's to make, not a hedge's to claim.
        record = await store.apeek(call.key, call.now)
        decision = admission(record, call.now)
        settled = self._settled is not None and self._settled.is_set()
        if decision != "call" or not call.admit(decision, record) or settled:
            return
        side = self.backup = Side(call)
        side.task = asyncio.create_task(self._drive(side))

    async def _drive(self, side: Side) -> None:
        """One side's call, as the provider node makes it (again without tools if need be)."""
        call = side.call
        try:
            while (prepared := call.prepare()) is not None:
                runnable, config = prepared
                call.take(await self._stream(side, runnable, gated(config, _Gate(self, side))))
        except Exception as exc:  # raised, not failed over: the node raises it (`check`)
            side.raised = exc
            if side is self.primary:
                self._cut(side)  # the turn ends in that error: no answer is awaited
            return
        if call.failure is None and not self._claim(side):  # an answer that never streamed
            call.failure = failure("hedged", self._detail(side))
        await self._fallen(side)

    async def _stream(self, side: Side, runnable: Any, config: RunnableConfig) -> tuple[str, Any]:
        """The call's outcome as `Call.take` reads it; a cut side's is `Hedged`."""
        call = side.call
        try:
            async with asyncio.timeout(call.given):
                limits = call.limits() or _OPEN
                answer = await acollect(runnable, call.messages, config, limits)
            return ("ok", answer)
        except asyncio.CancelledError:
            if not side.cut:
                raise
            if (task := asyncio.current_task()) is not None:
                task.uncancel()  # ours, not the caller's: the side ends normally
        except Exception as exc:  # judged by the attempt, not here
            if not side.cut:
                return ("error", exc)
        return ("error", Hedged(self._detail(side)))

    async def passing(self, side: Side, chunk: Any) -> None:
        """A chunk reaches `side`'s gate: a first token claims the race; a loser's is refused."""
        won = self.winner is None and _token(chunk) and self._claim(side)
        if won and side is self.backup and not self.announced:
            self.announced = True
            await self._announce(side, "hedge", f"no first token within {self.after:g} s")
        if self.winner is not None and self.winner is not side:
            raise Hedged(self._detail(side))

    def _claim(self, side: Side) -> bool:
        """Make `side` the winner if there is none yet, cancelling the other; say if it won."""
        if self.winner is None:
            self.winner = side
            if self._settled is not None:
                self._settled.set()
            self._cut(side)
        return self.winner is side

    def _cut(self, keep: Side) -> None:
        """Cancel the side other than `keep`, if it is still running."""
        for other in self.sides():
            if other is not keep and other.running() and other.task is not None:
                other.cut = True
                other.task.cancel()  # closes its stream, and so its connection

    async def _fallen(self, side: Side) -> None:
        """The primary failed while the backup runs: that is a plain failover, announced."""
        lost = side.call.failure
        backup = self.backup
        running = backup is not None and backup.running() and self.winner is None
        if side is self.primary and backup is not None and running and lost and not self.announced:
            self.announced = True
            await self._announce(backup, lost["kind"], lost["detail"])

    async def _announce(self, to: Side, reason: str, detail: str | None) -> None:
        spec = self.primary.call.link.spec
        event = announcement(spec.provider, spec.node, to.call.link.spec, reason)
        observe_failover(event, detail)
        self._write(event)  # stream_mode="custom"
        await adispatch_custom_event("failover", event, config=self._config)  # astream_events

    def _detail(self, side: Side) -> str:
        other = self.backup if side is self.primary else self.primary
        name = other.call.link.spec.provider if other is not None else "the other"
        return f"cancelled: {name} sent its first token first"

    def check(self) -> None:
        """Raise what a side raised: the primary's always; the backup's unless the primary answered.

        Without the hedge, the backup would only have been asked after a failure. A
        backup's error left unraised is logged, and its call left out of the record: no
        error kind says what it was (`errors.classify` did not know it).
        """
        if self.primary.raised is not None:
            raise self.primary.raised
        backup = self.backup
        if backup is None or backup.raised is None:
            return
        if self.primary.call.failure is not None:
            raise backup.raised
        spec = backup.call.link.spec
        log.warning("hedge backup %s raised %s: %s; the primary answered", spec.node,
                    type(backup.raised).__name__, backup.raised)  # fmt: skip
        self.backup = None

    def ordered(self) -> tuple[Call, Call]:
        """The two calls in the order their attempts are recorded.

        The one the turn goes on from (the winner, else the backup) comes last.
        """
        backup = self.backup
        if backup is None:
            raise ValueError("no backup was started")
        if self.winner is self.primary:
            return backup.call, self.primary.call
        return self.primary.call, backup.call
