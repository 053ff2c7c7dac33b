"""The threads sync streams are read in: reused while idle, never waited for."""

from __future__ import annotations

import threading
import time

from langgraph_failover.nodes.workers import Workers


def ran_in(workers: Workers) -> int:
    """Run one job and return the ident of the thread that ran it."""
    done, seen = threading.Event(), []

    def job() -> None:
        seen.append(threading.get_ident())
        done.set()

    workers.run(job)
    assert done.wait(5)
    return seen[0]


def settle(workers: Workers, idle: int) -> None:
    """Wait until `idle` workers are parked (a worker parks just after its job)."""
    deadline = time.monotonic() + 5
    while workers.idle() != idle and time.monotonic() < deadline:
        time.sleep(0.005)
    assert workers.idle() == idle


def test_an_idle_worker_is_reused() -> None:
    """The second job runs on the first job's thread, once that one is idle."""
    workers = Workers()
    first = ran_in(workers)
    settle(workers, 1)
    assert ran_in(workers) == first


def test_a_busy_worker_is_never_waited_for() -> None:
    """A job stuck in a socket read (here: an event) does not hold the next one back."""
    workers, release = Workers(), threading.Event()
    workers.run(lambda: release.wait(5) and None)
    started = time.monotonic()
    ran_in(workers)
    assert time.monotonic() - started < 1
    release.set()


def test_idle_workers_are_bounded_and_end() -> None:
    """At most `max_idle` park; an idle one ends after `idle_for` seconds."""
    workers, release = Workers(max_idle=2, idle_for=0.2), threading.Event()
    for _ in range(4):
        workers.run(lambda: release.wait(5) and None)
    release.set()
    settle(workers, 2)
    settle(workers, 0)


def test_many_jobs_from_many_threads_all_run() -> None:
    """Jobs handed over while workers park and time out are never lost."""
    workers, count, lock = Workers(max_idle=3, idle_for=0.01), [0], threading.Lock()
    finished = threading.Semaphore(0)

    def job() -> None:
        with lock:
            count[0] += 1
        finished.release()

    def caller() -> None:
        for _ in range(50):
            workers.run(job)
            time.sleep(0.002)

    callers = [threading.Thread(target=caller) for _ in range(4)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    for _ in range(200):
        assert finished.acquire(timeout=5)
    assert count[0] == 200


def test_a_forked_child_starts_with_no_idle_workers() -> None:
    """`forget` (run in a forked child) drops the parent's parked workers."""
    workers = Workers()
    ran_in(workers)
    settle(workers, 1)
    workers.forget()
    assert workers.idle() == 0
    ran_in(workers)  # a new worker serves
