"""The threads sync streams are read in: an idle one reused, a new one when none is idle.

A sync caller's stream is read in a worker thread so that its first token and its
silences can be timed (`deadlines.collect`). Starting a thread per call cost about
0.35 ms of every turn against the emulators (0.36 ms, interleaved, against a pool);
a pool with a fixed size would make a call wait behind streams that were cut loose and
still block in their socket reads. So a call takes an idle worker when there is one and
starts a new one otherwise: it never waits. A worker parks after its job while fewer
than `MAX_IDLE` do, and ends after `IDLE_FOR` seconds without one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable

MAX_IDLE = 16
"""Idle workers kept at most; more end after their job."""
IDLE_FOR = 60.0
"""Seconds an idle worker waits for a job before it ends."""

Job = Callable[[], None]


class Workers:
    """Daemon threads for sync streams, reused while idle (thread-safe, fork-safe)."""

    def __init__(self, max_idle: int = MAX_IDLE, idle_for: float = IDLE_FOR) -> None:
        self.max_idle, self.idle_for = max_idle, idle_for
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Job]] = []  # each idle worker's inbox

    def run(self, job: Job) -> None:
        """Run `job` in an idle worker, or in a new one; never waits for one."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), daemon=True,
                             name="llm-stream").start()  # fmt: skip
        inbox.put(job)

    def _serve(self, inbox: queue.SimpleQueue[Job]) -> None:
        while True:
            try:
                job = inbox.get(timeout=self.idle_for)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:
                        self._idle.remove(inbox)
                        return
                continue  # taken from the idle list just now: its job is on the way
            with contextlib.suppress(BaseException):  # the job reports its own errors
                job()
            with self._lock:
                if len(self._idle) >= self.max_idle:
                    return
                self._idle.append(inbox)

    def idle(self) -> int:
        """How many workers wait for a job now."""
        with self._lock:
            return len(self._idle)

    def forget(self) -> None:
        """Drop the idle workers (a forked child has none of the parent's threads)."""
        self._lock = threading.Lock()
        self._idle = []


WORKERS = Workers()
"""The process's stream workers."""
os.register_at_fork(after_in_child=WORKERS.forget)
