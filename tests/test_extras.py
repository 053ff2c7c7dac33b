"""Optional extras: each one missing, the package still imports and answers.

Each test runs a fresh interpreter in which the extra's modules cannot be imported (as
after a plain `pip install langgraph-failover`), and checks three things: `langgraph_failover` and
its two entry points import, a mock-only graph and drop-in answer, and the setting that
needs the extra is refused with a message naming the extra to install.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import python_without

# The modules each extra brings, as pyproject.toml's extras install them.
REDIS = ["redis"]
POSTGRES = ["psycopg", "psycopg_pool", "langgraph.checkpoint.postgres"]
TESTING = ["aiohttp"]

# Imports the package, answers on the mock alone, then runs each of CALLS (statements
# that need the extra); prints who answered and each call's error type and message.
SCRIPT = """
import json, os
import langgraph_failover
from langgraph_failover import ConfigError, build_graph, create_chat_model
served = [build_graph().invoke({"messages": [("user", "hi")]})["served_by"]]
answer = create_chat_model(**KWARGS).invoke("hi")
served.append(answer.response_metadata["failover"]["served_by"])
errors = []
for call in CALLS:
    try:
        exec(call)
        errors.append(None)
    except (ConfigError, ImportError) as exc:
        errors.append([type(exc).__name__, str(exc)])
print(json.dumps([served, errors]))
"""


def without(
    blocked: list[str], calls: list[str], env: dict[str, str] | None = None, **kwargs: str
) -> list[list[str]]:
    """With `blocked` uninstalled: the package answers on the mock; how each call fails."""
    code = SCRIPT.replace("KWARGS", repr(kwargs)).replace("CALLS", repr(calls))
    done = python_without(blocked, code, {"LLM_PROVIDER": "mock", **(env or {})})
    assert done.returncode == 0, done.stderr
    served, errors = json.loads(done.stdout)
    assert served == ["mock", "mock"]
    return list(errors)


def test_without_redis() -> None:
    """No redis: answers with in-process circuits; a Redis URL names the redis extra."""
    errors = without(REDIS, [
        "build_graph(redis_url='redis://:pw@127.0.0.1:1/0')",
        "os.environ['LLM_FAILOVER_REDIS_URL'] = 'redis://:pw@127.0.0.1:1/0'; build_graph()",
    ])  # fmt: skip
    message = (
        "LLM_FAILOVER_REDIS_URL needs the redis extra: pip install 'langgraph-failover[redis]'"
    )
    for kind, text in errors:
        assert (kind, text.startswith(message), "pw" in text) == ("ConfigError", True, False)


def test_without_postgres(tmp_path: Path) -> None:
    """No psycopg: a SQLite session answers; a postgresql:// URL names the postgres extra."""
    url = "postgresql://app:secret@127.0.0.1:1/threads"
    errors = without(POSTGRES, [
        f"from langgraph_failover.checkpoint import open_checkpointer; open_checkpointer({url!r})",
        f"os.environ['LLM_FAILOVER_CHECKPOINT_URL'] = {url!r}; create_chat_model(thread_id='t')",
    ], {"LLM_FAILOVER_CHECKPOINT_URL": str(tmp_path / "t.sqlite")}, thread_id="t")  # fmt: skip
    message = "needs the postgres extra: pip install 'langgraph-failover[postgres]'"
    for kind, text in errors:
        assert (kind, message in text, "secret" in text) == ("ConfigError", True, False)


def test_without_testing() -> None:
    """No aiohttp: answers; the emulators and the demo name the testing extra."""
    message = "needs the testing extra: pip install 'langgraph-failover[testing]'"
    errors = without(TESTING, ["import langgraph_failover.testing"])
    assert errors == [["ModuleNotFoundError", f"langgraph_failover.testing {message}"]]
    done = python_without(TESTING, "from langgraph_failover.cli import main; main(['demo'])")
    assert done.returncode == 2
    assert f"configuration error: the demo (it runs the emulators) {message}" in done.stderr


def test_with_every_extra_the_same_code_runs() -> None:
    """The harness blocks only what it is told: with nothing blocked, all three work."""
    done = python_without([], "import redis, psycopg, aiohttp, langgraph_failover.testing")
    assert done.returncode == 0, done.stderr
