"""The PostgreSQL checkpointer: fail within seconds, and say where and why, never the password.

A pool left to itself answers an unreachable server with a bare `PoolTimeout` after 30 s
and keeps its workers retrying in the background; `open_saver` connects once first under
a short `connect_timeout` and turns what libpq says into `CheckpointUnavailable`, naming
the host, port, database and user from psycopg's own parsing of the URL.

Needs the `postgres` extra: imported only through `checkpoint.open_postgres`, which
checks for it first.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from langgraph_failover.checkpoint import AsyncInThreads
from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.declared import BY_ENV
from langgraph_failover.graph.settings import pick
from langgraph_failover.secrets import mask

_TIMEOUT = BY_ENV["LLM_FAILOVER_CHECKPOINT_TIMEOUT"]
_NAMED = (("host", "host"), ("hostaddr", "address"), ("port", "port"),
          ("dbname", "database"), ("user", "user"))  # fmt: skip
_SETUP_LOCK = 0x11F0_7A11  # any constant of our own, for pg_advisory_lock
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s) AS locked"


class CheckpointUnavailable(ConnectionError):
    """The checkpoint database cannot be reached, or refused us: the message says where, why.

    Raised by `open_checkpointer`/`open_postgres` within `LLM_FAILOVER_CHECKPOINT_TIMEOUT`
    seconds, naming host, port, database, user and libpq's reason, never the password;
    no pool is left retrying behind it.
    """


class PostgresCheckpointer(AsyncInThreads, PostgresSaver):
    """`PostgresSaver` (on a connection pool) whose async methods run in a thread."""


def open_saver(url: str, *, connect_timeout: float | None = None) -> PostgresCheckpointer:
    """A checkpointer on PostgreSQL (tables created if missing), shared by many workers.

    A server that cannot be reached, or refuses us, fails within `connect_timeout`
    seconds (else `LLM_FAILOVER_CHECKPOINT_TIMEOUT`, else 5) with `CheckpointUnavailable`
    naming the host, port, database and cause, never the password; no pool is left
    retrying behind it.
    """
    describe(url)  # a malformed URL is a ConfigError (psycopg's would quote it)
    timeout = timeout_seconds(connect_timeout)
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "connect_timeout": libpq_seconds(timeout),
    }
    # One connection first, for the tables: its error says what is wrong, where a pool's
    # would be a bare PoolTimeout, with its workers still retrying.
    with unavailable(url, timeout), psycopg.connect(url, **kwargs) as conn:
        _setup(conn)
    pool: ConnectionPool[Any] = ConnectionPool(url, kwargs=kwargs, open=False)
    try:
        with unavailable(url, timeout):
            pool.open(wait=True, timeout=timeout)
    except CheckpointUnavailable:
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


def timeout_seconds(value: float | str | None) -> float:
    """Seconds to wait for a connection: `value`, else its variable, else its default."""
    return float(_TIMEOUT.parse(pick(value, os.environ, _TIMEOUT.env)))


def libpq_seconds(timeout: float) -> int:
    """Libpq's `connect_timeout`: whole seconds, and it treats anything under 2 as 2."""
    return max(2, math.ceil(timeout))


def describe(url: str) -> str:
    """Which server, database and user `url` names (parsed by psycopg; no password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:  # its message quotes the URL, password included
        raise ConfigError(f"checkpoint URL: {mask(str(exc).strip())}") from None
    named = [f"{label} {params[key]}" for key, label in _NAMED if params.get(key)]
    return ", ".join(named) or "libpq's defaults"


@contextmanager
def unavailable(url: str, timeout: float) -> Iterator[None]:
    """Turn a failure to connect inside the block into `CheckpointUnavailable`."""
    try:
        yield
    except psycopg.OperationalError as exc:
        cause = _masked(" ".join(str(exc).split()), url)
    except PoolTimeout:
        cause = f"no connection within {timeout:g} s"
    else:
        return
    raise CheckpointUnavailable(
        f"cannot open the PostgreSQL checkpointer at {describe(url)}: {cause}"
    ) from None


def _masked(text: str, url: str) -> str:
    """`text` without the URL's password, however it appears."""
    password = conninfo_to_dict(url).get("password")
    return mask(text.replace(str(password), "***") if password else text)
