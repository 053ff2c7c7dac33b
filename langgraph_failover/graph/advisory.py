"""One turn at a time per thread across worker processes that share PostgreSQL.

`TURNS` serialises a thread's turns inside one process; workers sharing a checkpoint in
PostgreSQL also take a session-level advisory lock on the thread (a hash of its id) for
the whole turn. A worker that dies mid-turn loses its session and, with it, the lock.

The locks live on one connection of their own per checkpointer, not on connections
borrowed from the saver's pool: a turn holding a pooled connection for its whole length
would leave the pool short of connections for the checkpoint writes of every other turn.
Locks are taken with `pg_try_advisory_lock`, polled, never waited for inside PostgreSQL:
a blocked lock wait would hold that shared connection (and `CREATE INDEX CONCURRENTLY`
in the tables' setup waits for open queries, blocked ones included).

Our own part fails open: if the lock connection cannot be had, the turn goes on under
the in-process lock only, and the outage is logged once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x11F0
"""The advisory locks' first key: ours, apart from any the app takes itself."""
_TRY = "SELECT pg_try_advisory_lock(%s, %s)"
_UNLOCK = "SELECT pg_advisory_unlock(%s, %s)"


def lock_key(thread_id: str) -> int:
    """The thread's advisory lock key: a stable 32-bit hash of its id (collisions only wait)."""
    digest = hashlib.blake2b(thread_id.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLocks:
    """Session-level advisory locks for the threads of one PostgreSQL checkpointer."""

    def __init__(self, session: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]):
        self._session = session
        self._down = False

    def try_lock(self, thread_id: str) -> bool:
        """Take the thread's lock if it is free; True also when PostgreSQL cannot say."""
        try:
            with self._session() as conn:
                row = (
                    conn.cursor(row_factory=tuple_row)
                    .execute(_TRY, (LOCK_NAMESPACE, lock_key(thread_id)))
                    .fetchone()
                )
        except psycopg.Error as exc:
            if not self._down:
                log.warning("turn lock on PostgreSQL unavailable, in-process only: %s", exc)
            self._down = True
            return True
        if self._down:
            log.warning("turn lock on PostgreSQL available again")
        self._down = False
        return bool(row and row[0])

    def unlock(self, thread_id: str) -> None:
        """Release the thread's lock (already gone if the session was lost)."""
        try:
            with self._session() as conn:
                conn.execute(_UNLOCK, (LOCK_NAMESPACE, lock_key(thread_id)))
        except psycopg.Error:
            pass  # a lost session released its locks with it


class _OwnConnection:
    """One autocommit connection, opened on first use, reopened after it broke."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool
        self._conn: psycopg.Connection[Any] | None = None
        self._mutex = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection, for one statement at a time."""
        with self._mutex:
            if self._conn is None or self._conn.closed:
                # The pool's own settings (either may be a callable, read per connection).
                conninfo, kwargs = self._pool.conninfo, self._pool.kwargs
                conninfo = conninfo() if callable(conninfo) else conninfo
                kwargs = (kwargs() if callable(kwargs) else kwargs) or {}
                self._conn = psycopg.Connection.connect(conninfo, **{**kwargs, "autocommit": True})
            try:
                yield self._conn
            except psycopg.OperationalError:
                self._conn.close()  # reopened next time; its locks died with it
                raise

    def close(self) -> None:
        """Close the connection (when the checkpointer is collected)."""
        if self._conn is not None:
            self._conn.close()


_locks: weakref.WeakKeyDictionary[Any, AdvisoryLocks] = weakref.WeakKeyDictionary()
_mutex = threading.Lock()


def advisory_locks(saver: Any) -> AdvisoryLocks | None:
    """The checkpointer's cross-process locks: PostgreSQL savers only (else None)."""
    if not isinstance(saver, PostgresSaver):
        return None
    with _mutex:
        if saver not in _locks:
            _locks[saver] = AdvisoryLocks(_session_for(saver))
        return _locks[saver]


def _session_for(saver: PostgresSaver) -> Callable[[], AbstractContextManager[Any]]:
    """How to reach the saver's database for a lock statement."""
    if isinstance(saver.conn, ConnectionPool):
        own = _OwnConnection(saver.conn)
        weakref.finalize(saver, own.close)
        return own.session
    # One connection (`from_conn_string`): share it under the saver's own lock. Not the
    # saver itself: the table's value must not keep its weakly held key alive.
    conn, lock = saver.conn, saver.lock

    @contextmanager
    def shared() -> Iterator[Any]:
        with lock:
            yield conn

    return shared
