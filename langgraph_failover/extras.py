"""Optional dependencies: which extra brings which modules, and the error when one is missing.

A plain `pip install langgraph-failover` answers with OpenAI, Ollama and the mock, checkpoints in
SQLite and keeps circuits in process memory. Redis (shared circuits), PostgreSQL (shared
checkpoints) and the emulators come as extras, imported only where a setting asks for
them; a setting whose extra is missing is refused naming the extra to install.
"""

from __future__ import annotations

import importlib

from langgraph_failover.errors import ConfigError

EXTRAS: dict[str, tuple[str, ...]] = {
    "redis": ("redis",),
    "postgres": ("psycopg", "psycopg_pool", "langgraph.checkpoint.postgres"),
    "testing": ("aiohttp",),
}
"""Each extra, and the modules it makes importable."""


def missing_message(extra: str, needed_by: str) -> str:
    """What to say when `needed_by` (a setting, a module) lacks `extra`."""
    return f"{needed_by} needs the {extra} extra: pip install 'langgraph-failover[{extra}]'"


def require(extra: str, needed_by: str) -> None:
    """Import `extra`'s modules, or raise `ConfigError` saying which extra to install."""
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"{missing_message(extra, needed_by)} ({exc})") from None
