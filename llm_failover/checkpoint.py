"""Checkpointers usable from sync and async callers alike: SQLite, or PostgreSQL.

LangGraph's `SqliteSaver` and `PostgresSaver` are sync-only and their `Async*` twins
async-only; an app with a Flask route and a FastAPI route (or the drop-in model called
both ways) needs one saver for both. These run the sync saver's methods in a worker
thread for async callers: the same SQL, guarded by the saver's own lock.

`open_checkpointer(url)` picks one from `LLM_FAILOVER_CHECKPOINT_URL`'s form:
`postgresql://...` for several workers, a file path (or nothing) for embedded SQLite.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from llm_failover import postgres

_SETUP_LOCK = 0x11F0_7A11  # any constant of our own, for pg_advisory_lock
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s) AS locked"


class _AsyncInThreads(BaseCheckpointSaver[Any]):
    """Async methods that run the sync ones in a worker thread."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async `get_tuple`."""
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async `list`."""
        found = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Any,
    ) -> RunnableConfig:
        """Async `put`."""
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async `put_writes`."""
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async `delete_thread`."""
        await asyncio.to_thread(self.delete_thread, thread_id)


class SqliteCheckpointer(_AsyncInThreads, SqliteSaver):
    """`SqliteSaver` whose async methods run the sync ones in a thread."""


class PostgresCheckpointer(_AsyncInThreads, PostgresSaver):
    """`PostgresSaver` (on a connection pool) whose async methods run in a thread."""


def open_checkpointer(
    url: str | None, default: str = "llm-failover.sqlite", *, connect_timeout: float | None = None
) -> Any:
    """A checkpointer for `url`: PostgreSQL or a SQLite file.

    PostgreSQL for `postgresql://...` or a libpq `key=value` string (`host=db dbname=app`).
    """
    if url and (url.startswith(("postgresql://", "postgres://")) or _LIBPQ.match(url)):
        return open_postgres(url, connect_timeout=connect_timeout)
    return open_sqlite(url or default)


# `host=db user=app password=...`: never a file name (it would be created, password and all).
_LIBPQ = re.compile(r"^\s*[A-Za-z_]+\s*=")


def open_postgres(url: str, *, connect_timeout: float | None = None) -> PostgresCheckpointer:
    """A checkpointer on PostgreSQL (tables created if missing), shared by many workers.

    A server that cannot be reached, or refuses us, fails within `connect_timeout`
    seconds (else `LLM_FAILOVER_CHECKPOINT_TIMEOUT`, else 5) with `CheckpointUnavailable`
    naming the host, port, database and cause, never the password; no pool is left
    retrying behind it.
    """
    postgres.describe(url)  # a malformed URL is a ConfigError (psycopg's would quote it)
    timeout = postgres.connect_timeout(connect_timeout)
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "connect_timeout": postgres.libpq_seconds(timeout),
    }
    # One connection first, for the tables: its error says what is wrong, where a pool's
    # would be a bare PoolTimeout, with its workers still retrying.
    with postgres.unavailable(url, timeout), psycopg.connect(url, **kwargs) as conn:
        _setup(conn)
    pool: ConnectionPool[Any] = ConnectionPool(url, kwargs=kwargs, open=False)
    try:
        with postgres.unavailable(url, timeout):
            pool.open(wait=True, timeout=timeout)
    except postgres.CheckpointUnavailable:
        pool.close()  # or its workers would go on retrying for minutes
        raise
    return PostgresCheckpointer(pool)


def _setup(conn: psycopg.Connection[Any]) -> None:
    """Create the tables if missing, one worker at a time."""
    # Workers starting together would race to create the tables: one at a time. Poll
    # with pg_try_advisory_lock rather than wait inside pg_advisory_lock: the setup runs
    # CREATE INDEX CONCURRENTLY, which waits for every open query, a blocked lock wait
    # included, and the two would wait for each other for ever.
    while not conn.execute(_TRY_LOCK, (_SETUP_LOCK,)).fetchone()["locked"]:  # type: ignore[index]
        time.sleep(0.05)
    try:
        PostgresSaver(conn).setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))


def open_sqlite(path: str | Path) -> SqliteCheckpointer:
    """A checkpointer on the SQLite file at `path` (created if missing), for any thread."""
    return SqliteCheckpointer(sqlite3.connect(str(path), check_same_thread=False))


@contextmanager
def sqlite_checkpointer(path: str | Path) -> Iterator[SqliteCheckpointer]:
    """`open_sqlite` as a context manager that closes the file at the end."""
    saver = open_sqlite(path)
    try:
        yield saver
    finally:
        saver.conn.close()
