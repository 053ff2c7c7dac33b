"""What a run may ask: the fields its deployer granted, and the shape and size of each value.

A run's context comes from whoever calls the graph: a Studio form, a server's client, an
app passing a user's choices along. It is untrusted. The deployer names the fields a run
may set (`LLM_FAILOVER_RUN_SETTINGS`, `build_graph(run_settings=...)`); everything else
is refused, and a granted value must still have the right type and a bounded size. Every
refusal is a `ConfigError` that starts `context <field>:` and stays small, raised before
any request. The numeric ranges are declared with the settings (`declared.py`); `run.Plan`
applies both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.context import FIELDS, OPTIONS
from langgraph_failover.graph.declared import BY_KEYWORD
from langgraph_failover.graph.values import show

ENV = BY_KEYWORD["run_settings"].env
DEFAULT_GRANTS = frozenset(BY_KEYWORD["run_settings"].default)
"""The per-call options (which the drop-in model sends) and the choice among providers."""

MAX_TOOLS = 128  # OpenAI's own limit per request
MAX_JSON = 256 * 1024  # the tools, tool choice or response format, serialised
MAX_STOP, MAX_STOP_CHARS = 16, 256
MAX_NAME_CHARS = 256  # a model, provider or node name
MAX_NAMES = 64  # entries in `providers` or `models`

BLANK: tuple[Any, ...] = (None, "", [], {})
"""What a form sends for a field left empty: the graph's own setting."""


def parse_grants(value: Any) -> frozenset[str]:
    """The fields runs may set, from `all`, `none` or field names (a string or a list)."""
    if value is None:
        return DEFAULT_GRANTS
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [str(name).strip() for name in names if str(name).strip()]
    if names == ["all"]:
        return FIELDS
    if names in ([], ["none"]):
        return frozenset()
    unknown = sorted(set(names) - FIELDS)
    if unknown:
        raise ConfigError(
            f"{ENV}: unknown field(s) {unknown}; valid: all, none, or {sorted(FIELDS)}"
        )
    return frozenset(names)


def check_grants(given: Iterable[str], granted: frozenset[str]) -> None:
    """Refuse the first field the deployer did not grant, saying how to grant it."""
    for field in sorted(given):
        if field not in granted:
            allowed = ",".join(sorted(granted)) or "none"
            wanted = ",".join(sorted(granted | {field}))
            drop_in = " (the drop-in model sends it when set)" if field in OPTIONS else ""
            raise ConfigError(
                f"context {field}: runs of this graph may not set it (granted: {allowed})"
                f"{drop_in}; its deployer can grant it with {ENV}={wanted} or "
                "build_graph(run_settings=[...]), or leave it empty for the graph's own"
            )


def check_options(given: Mapping[str, Any]) -> None:
    """Refuse a call option of the wrong type or an absurd size."""
    if "temperature" in given:
        value = given["temperature"]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and 0 <= value <= 2)
        ):
            raise ConfigError(
                f"context temperature: expected a number from 0 to 2, got {show(value)}"
            )
    if "stop" in given:
        _stop(given["stop"])
    if "tools" in given:
        _tools(given["tools"])
    for field in ("tools", "tool_choice", "response_format"):
        if field in given:
            _json_size(field, given[field])
    choice = given.get("tool_choice")
    if choice is not None and not isinstance(choice, str | Mapping):
        raise ConfigError(
            f"context tool_choice: expected a string or an object, got {show(choice)}"
        )
    if isinstance(choice, str) and len(choice) > MAX_NAME_CHARS:
        raise ConfigError(f"context tool_choice: at most {MAX_NAME_CHARS} characters")
    shape = given.get("response_format")
    if shape is not None and not isinstance(shape, Mapping):
        raise ConfigError(
            'context response_format: expected an object such as {"type": "json_object"}, '
            f"got {show(shape)}"
        )


def check_name(field: str, name: Any) -> str:
    """A model or provider name: a non-empty printable string of bounded length."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise ConfigError(
            f"context {field}: expected a name of 1 to {MAX_NAME_CHARS} characters, "
            f"got {show(name)}"
        )
    if not name.isprintable():
        raise ConfigError(f"context {field}: control characters in the name {show(name)}")
    return name.strip()


def check_count(field: str, values: Any) -> None:
    """Refuse a list or mapping of names longer than any chain."""
    if len(values) > MAX_NAMES:
        raise ConfigError(f"context {field}: at most {MAX_NAMES} entries, got {len(values)}")


def _tools(tools: Any) -> None:
    """A bounded list of tools in OpenAI's function format, as the drop-in sends them."""
    if not isinstance(tools, list) or not all(isinstance(t, Mapping) for t in tools):
        raise ConfigError(f"context tools: expected a list of tool objects, got {show(tools)}")
    if len(tools) > MAX_TOOLS:
        raise ConfigError(f"context tools: at most {MAX_TOOLS} tools, got {len(tools)}")
    for index, tool in enumerate(tools):
        function = tool.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if tool.get("type") != "function" or not isinstance(name, str) or not name:
            raise ConfigError(
                f"context tools: tools[{index}] is not a tool in OpenAI's format "
                '{"type": "function", "function": {"name": ..., "parameters": {...}}}, '
                f"got {show(tool)}"
            )
        check_name("tools", name)


def _stop(stop: Any) -> None:
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise ConfigError(f"context stop: expected a list of strings, got {show(stop)}")
    if len(stop) > MAX_STOP or any(len(s) > MAX_STOP_CHARS for s in stop):
        raise ConfigError(
            f"context stop: at most {MAX_STOP} sequences of at most {MAX_STOP_CHARS} "
            f"characters, got {len(stop)} (longest {max(map(len, stop))})"
        )


def _json_size(field: str, value: Any) -> None:
    try:
        size = len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        raise ConfigError(f"context {field}: not plain JSON data: {show(value)}") from None
    if size > MAX_JSON:
        raise ConfigError(f"context {field}: at most {MAX_JSON} bytes of JSON, got {size}")
