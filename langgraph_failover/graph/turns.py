"""One turn at a time per thread, in this process: a lock sync and async callers share.

Two runs on one thread would both start from the same checkpoint, and the later write
would drop the other's turn. `TURNS` serialises them: one lock per key (a checkpointer
and a thread id), taken by a Flask route's `invoke` and a FastAPI route's `ainvoke`
alike, handed to the waiters first come first served, and forgotten as soon as no one
holds or waits for it, so the table never grows with the number of threads served.

Why not `threading.Lock`: an event loop cannot block on it, and waiting for it in a
worker thread would fill the default executor (the checkpointers' async methods run
there too) with waiters while the holder needs it to finish. Each waiter here is woken
its own way instead: a `threading.Event`, or a future on the waiter's own event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import deque
from collections.abc import Hashable


@dataclasses.dataclass(eq=False)
class _Waiter:
    """One caller waiting for a key: a thread (`event`) or a task (`loop` and `future`)."""

    event: threading.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[None] | None = None
    granted: bool = False
    """Set (under the table's mutex) when the lock is handed to this waiter."""

    def wake(self) -> bool:
        """Tell the waiter it holds the lock; False if it can never hear it (loop closed)."""
        if self.event is not None:
            self.event.set()
            return True
        assert self.loop is not None
        assert self.future is not None
        try:
            self.loop.call_soon_threadsafe(_settle, self.future)
        except RuntimeError:  # its event loop is closed: that task will never run again
            return False
        return True


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():  # a timed-out wait has cancelled it; `granted` still tells
        future.set_result(None)


@dataclasses.dataclass(eq=False)
class _Entry:
    """A key's lock: held or not, and who waits for it, in order."""

    queue: deque[_Waiter] = dataclasses.field(default_factory=deque)


class TurnLocks:
    """Keyed locks for threads and tasks; a key's entry exists only while in use."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        """How many keys are held or waited for right now."""
        return len(self._entries)

    def acquire(self, key: Hashable, timeout: float) -> bool:
        """Take `key`'s lock, waiting up to `timeout` seconds; False if it stayed taken."""
        waiter = _Waiter(event=threading.Event())
        if self._take_or_queue(key, waiter):
            return True
        assert waiter.event is not None
        return waiter.event.wait(timeout) or self._withdraw(key, waiter)

    async def aacquire(self, key: Hashable, timeout: float) -> bool:
        """`acquire` for a task: waits on its event loop, never blocking it."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop=loop, future=loop.create_future())
        if self._take_or_queue(key, waiter):
            return True
        assert waiter.future is not None
        try:
            async with asyncio.timeout(timeout):
                await waiter.future
        except TimeoutError:
            return self._withdraw(key, waiter)
        except asyncio.CancelledError:
            if self._withdraw(key, waiter):  # handed over as we were cancelled: pass it on
                self.release(key)
            raise
        return True

    def release(self, key: Hashable) -> None:
        """Hand `key`'s lock to the next waiter that can take it, or forget the key."""
        with self._mutex:
            entry = self._entries[key]
            while entry.queue:
                waiter = entry.queue.popleft()
                waiter.granted = True
                if waiter.wake():
                    return
            del self._entries[key]

    def _take_or_queue(self, key: Hashable, waiter: _Waiter) -> bool:
        """Take a free lock at once (True), or join its queue (False)."""
        with self._mutex:
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = _Entry()
                return True
            entry.queue.append(waiter)
            return False

    def _withdraw(self, key: Hashable, waiter: _Waiter) -> bool:
        """Leave the queue after a timeout; True if the lock was handed over meanwhile."""
        with self._mutex:
            if waiter.granted:
                return True
            self._entries[key].queue.remove(waiter)
            return False


TURNS = TurnLocks()
"""The process's table: every graph on one checkpointer shares a thread's lock."""
