"""Checkpointers usable from sync and async callers alike: SQLite, or PostgreSQL.

LangGraph's `SqliteSaver` and `PostgresSaver` are sync-only and their `Async*` twins
async-only; an app with a Flask route and a FastAPI route (or the drop-in model called
both ways) needs one saver for both. These run the sync saver's methods in a worker
thread for async callers: the same SQL, guarded by the saver's own lock.

`open_checkpointer(url)` picks one from `LLM_FAILOVER_CHECKPOINT_URL`'s form:
`postgresql://...` for several workers (the `postgres` extra, see `postgres.py`), a file
path (or nothing) for embedded SQLite.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from langgraph_failover.extras import require
from langgraph_failover.graph.declared import BY_ENV

if TYPE_CHECKING:
    from langgraph_failover.postgres import PostgresCheckpointer


class AsyncInThreads(BaseCheckpointSaver[Any]):
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


# Where the drop-in keeps threads when no URL is set: the declared setting's default.
_SQLITE_DEFAULT = str(BY_ENV["LLM_FAILOVER_CHECKPOINT_URL"].default)


class SqliteCheckpointer(AsyncInThreads, SqliteSaver):
    """`SqliteSaver` whose async methods run the sync ones in a thread."""


def open_checkpointer(
    url: str | os.PathLike[str] | None,
    default: str = _SQLITE_DEFAULT,
    *,
    connect_timeout: float | None = None,
) -> Any:
    """A checkpointer for `url`: PostgreSQL or a SQLite file.

    PostgreSQL for `postgresql://...` or a libpq `key=value` string (`host=db dbname=app`);
    anything else, a `pathlib.Path` included, is the SQLite file's path.

    Args:
        url: `LLM_FAILOVER_CHECKPOINT_URL`'s value: a PostgreSQL URL or libpq string, a
            SQLite file's path (`str` or `os.PathLike`), or `None`/empty for `default`.
        default: The SQLite file used when `url` is empty.
        connect_timeout: Seconds to wait for PostgreSQL; by default
            `LLM_FAILOVER_CHECKPOINT_TIMEOUT`.

    Returns:
        A saver for `build_graph(checkpointer=...)` that serves sync and async callers.

    Raises:
        ConfigError: A PostgreSQL URL without the `postgres` extra installed.
        CheckpointUnavailable: PostgreSQL cannot be reached or refuses the connection.

    """
    url = os.fspath(url) if url is not None else None
    if url and (url.startswith(("postgresql://", "postgres://")) or _LIBPQ.match(url)):
        return open_postgres(url, connect_timeout=connect_timeout)
    return open_sqlite(url or default)


# `host=db user=app password=...`: never a file name (it would be created, password and all).
_LIBPQ = re.compile(r"^\s*[A-Za-z_]+\s*=")


def open_postgres(url: str, *, connect_timeout: float | None = None) -> PostgresCheckpointer:
    """A checkpointer on PostgreSQL, shared by many workers (see `postgres.open_saver`).

    Needs the `postgres` extra; without it, a `ConfigError` says so. The tables are
    created on first use, one worker at a time.

    Args:
        url: A `postgresql://` URL or a libpq `key=value` string.
        connect_timeout: Seconds to wait for the server; by default
            `LLM_FAILOVER_CHECKPOINT_TIMEOUT`.

    Returns:
        A saver on a connection pool, for sync and async callers alike.

    Raises:
        ConfigError: The `postgres` extra is not installed.
        CheckpointUnavailable: The server cannot be reached or refuses the connection.

    """
    require("postgres", "a PostgreSQL checkpoint URL (LLM_FAILOVER_CHECKPOINT_URL)")
    from langgraph_failover.postgres import open_saver  # the extra's modules: imported only here

    return open_saver(url, connect_timeout=connect_timeout)


def open_sqlite(path: str | os.PathLike[str]) -> SqliteCheckpointer:
    """A checkpointer on the SQLite file at `path` (created if missing), for any thread.

    Its connection stays open for the life of the process; `sqlite_checkpointer` closes it
    at the end of a `with` block.
    """
    return SqliteCheckpointer(sqlite3.connect(os.fspath(path), check_same_thread=False))


@contextmanager
def sqlite_checkpointer(path: str | os.PathLike[str]) -> Iterator[SqliteCheckpointer]:
    """`open_sqlite` as a context manager that closes the file at the end."""
    saver = open_sqlite(path)
    try:
        yield saver
    finally:
        saver.conn.close()
