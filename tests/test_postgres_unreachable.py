"""An unreachable or refusing PostgreSQL fails fast, says where and why, and leaves nothing behind.

The closed port and the hung server need no database; the refused login runs against the
session's real PostgreSQL (tests/servers.py, or LLM_FAILOVER_TEST_PG_URL when set).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from langgraph_failover.checkpoint import open_checkpointer, open_postgres
from langgraph_failover.errors import ConfigError
from langgraph_failover.postgres import CheckpointUnavailable
from tests.conftest import free_port

PASSWORD = "pw-CANARY-5f1d"


def pool_threads() -> set[threading.Thread]:
    """The live threads psycopg_pool starts (`pool-N-worker-i`, `pool-N-scheduler`)."""
    return {t for t in threading.enumerate() if t.name.startswith("pool-")}


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_closed_port_fails_at_once_naming_host_and_cause() -> None:
    """Connection refused: raised in seconds, host, port and cause named, no pool left."""
    port = free_port()
    before = pool_threads()
    started = time.monotonic()
    with pytest.raises(CheckpointUnavailable) as raised:
        open_checkpointer(f"postgresql://app:{PASSWORD}@127.0.0.1:{port}/threads")
    assert time.monotonic() - started < 10  # was a bare PoolTimeout after 30 s
    message = str(raised.value)
    assert f"host 127.0.0.1, port {port}, database threads" in message
    assert "refused" in message.lower() and PASSWORD not in message
    assert pool_threads() <= before  # no pool workers retrying in the background


def test_a_libpq_keyword_string_is_postgresql_not_a_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`host=... password=...` goes to PostgreSQL; no SQLite file named after it appears."""
    monkeypatch.chdir(tmp_path)
    port = free_port()
    with pytest.raises(CheckpointUnavailable) as raised:
        open_checkpointer(f"host=127.0.0.1 port={port} dbname=threads password={PASSWORD}")
    assert f"port {port}" in str(raised.value) and PASSWORD not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_hung_server_times_out_after_the_configured_seconds(
    hung_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that never answers: `LLM_FAILOVER_CHECKPOINT_TIMEOUT=2` bounds the wait."""
    monkeypatch.setenv("LLM_FAILOVER_CHECKPOINT_TIMEOUT", "2")
    before = pool_threads()
    started = time.monotonic()
    with pytest.raises(CheckpointUnavailable, match=f"port {hung_port}.*timeout"):
        open_postgres(f"postgresql://app:{PASSWORD}@127.0.0.1:{hung_port}/threads")
    assert 1.5 < time.monotonic() - started < 10
    assert pool_threads() <= before


def test_the_keyword_timeout_overrides_the_environment(
    hung_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`connect_timeout=2` wins over a longer `LLM_FAILOVER_CHECKPOINT_TIMEOUT`."""
    monkeypatch.setenv("LLM_FAILOVER_CHECKPOINT_TIMEOUT", "60")
    started = time.monotonic()
    with pytest.raises(CheckpointUnavailable):
        open_postgres(f"postgresql://app@127.0.0.1:{hung_port}/threads", connect_timeout=2)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("value", ["soon", "0", "-1", "inf"])
def test_a_bad_timeout_is_refused_by_name(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed timeout is a ConfigError naming the setting, before any connection."""
    monkeypatch.setenv("LLM_FAILOVER_CHECKPOINT_TIMEOUT", value)
    with pytest.raises(ConfigError, match=r"^LLM_FAILOVER_CHECKPOINT_TIMEOUT: "):
        open_postgres(f"postgresql://app@127.0.0.1:{free_port()}/threads")


def test_a_malformed_url_is_refused_without_its_password() -> None:
    """A URL psycopg cannot parse: the ConfigError quoting it masks the password."""
    with pytest.raises(ConfigError) as raised:
        open_postgres(f"postgresql://app:{PASSWORD}@[::1/threads")
    assert "postgresql://***@" in str(raised.value) and PASSWORD not in str(raised.value)


def test_a_refused_login_names_the_server_and_the_reason(pg_url: str) -> None:
    """Real PostgreSQL, a role it does not know: the error says so, without the password."""
    params = conninfo_to_dict(pg_url)
    # The test cluster trusts every password, so the login it refuses is an unknown role.
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    bad = make_conninfo(pg_url, user=role, password=PASSWORD)
    with pytest.raises(CheckpointUnavailable) as raised:
        open_postgres(bad)
    message = str(raised.value)
    assert f"host {params['host']}, port {params['port']}" in message
    assert f'role "{role}" does not exist' in message and PASSWORD not in message
