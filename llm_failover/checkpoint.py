"""The embedded default checkpointer: SQLite, usable from sync and async callers alike.

LangGraph's `SqliteSaver` is sync-only and `AsyncSqliteSaver` async-only; an app with a
Flask route and a FastAPI route (or the drop-in model called both ways) needs one saver
for both. `SqliteCheckpointer` runs the sync saver's methods in a worker thread for async
callers: the same SQL, the same file, one connection guarded by the saver's own lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver


class SqliteCheckpointer(SqliteSaver):
    """`SqliteSaver` whose async methods run the sync ones in a thread."""

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
