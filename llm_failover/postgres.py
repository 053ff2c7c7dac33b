"""Reaching PostgreSQL: fail within seconds, and say where and why, never with the password.

A pool left to itself answers an unreachable server with a bare `PoolTimeout` after 30 s
and keeps its workers retrying in the background; `checkpoint.open_postgres` connects
once first under a short `connect_timeout` and turns what libpq says into
`CheckpointUnavailable`, naming the host, port, database and user from psycopg's own
parsing of the URL.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout

from llm_failover.errors import ConfigError
from llm_failover.graph.declared import BY_ENV
from llm_failover.secrets import mask

_TIMEOUT = BY_ENV["LLM_FAILOVER_CHECKPOINT_TIMEOUT"]
TIMEOUT_ENV = _TIMEOUT.env
_NAMED = (("host", "host"), ("hostaddr", "address"), ("port", "port"),
          ("dbname", "database"), ("user", "user"))  # fmt: skip


class CheckpointUnavailable(ConnectionError):
    """The checkpoint database cannot be reached, or refused us: the message says where, why."""


def connect_timeout(value: float | str | None) -> float:
    """Seconds to wait for a connection: `value`, else its variable, else its default."""
    if value is None:
        value = os.environ.get(TIMEOUT_ENV, "").strip() or None
    return float(_TIMEOUT.parse(value))


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
