"""Per-run options: what the caller asks of this run, not of every run.

Passed as `graph.invoke(..., context=Context(...))` (or a dict, as LangGraph Studio and
the server send it). Two kinds of field:

- call options (tools, tool choice, temperature, stop, response format), which the
  drop-in chat model fills from `bind_tools`, `with_structured_output`, `temperature`
  and `stop`, and every provider node translates to its own client's parameters;
- run settings (providers, models, timeout, failure policy), which replace the graph's
  own settings for this run only, e.g. from Studio's form; `graph/run.py` validates them.

Every field defaults to None: the graph's settings. A run may set only the fields its
deployer granted (`graph/limits.py`). A context is never checkpointed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from langgraph_failover.errors import ConfigError
from langgraph_failover.graph.declared import run_description


def _option(description: str) -> Any:
    """A field Studio shows with `description`; None (empty) by default."""
    return dataclasses.field(default=None, metadata={"description": description})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """Options and settings for one run; None everywhere means the graph's own.

    Passed as `graph.invoke(inputs, config, context=Context(...))` or as a plain dict
    (`context={"providers": ["ollama", "mock"]}`). Only the fields the deployer granted
    (`LLM_FAILOVER_RUN_SETTINGS`; by default the per-call options and `providers`) may
    be set; a value out of range or an ungranted field is a `ConfigError` before the
    run starts, and nothing is stored.
    """

    tools: list[dict[str, Any]] | None = _option(
        "Tools offered to the model, in OpenAI's function format."
    )
    tool_choice: str | dict[str, Any] | None = _option(
        "'auto', 'any'/'required', or a tool name to force."
    )
    temperature: float | None = _option("Sampling temperature; empty: the provider's.")
    stop: list[str] | None = _option("Stop sequences.")
    response_format: dict[str, Any] | None = _option(
        "JSON output, in OpenAI's response_format spelling."
    )
    # Run settings: each describes itself from the settings it changes (`declared.py`).
    providers: list[str] | None = _option(run_description("providers"))
    models: dict[str, str] | None = _option(run_description("models"))
    timeout: float | None = _option(run_description("timeout"))
    quota_cooldown: float | None = _option(run_description("quota_cooldown"))
    retry_budget: float | None = _option(run_description("retry_budget"))
    server_retries: int | None = _option(run_description("server_retries"))
    rate_limit_cooldown: float | None = _option(run_description("rate_limit_cooldown"))
    failure_threshold: int | None = _option(run_description("failure_threshold"))
    failure_cooldown: float | None = _option(run_description("failure_cooldown"))
    turn_budget: float | None = _option(run_description("turn_budget"))


FIELDS = frozenset(field.name for field in dataclasses.fields(Context))
# The fields that change the graph's settings for a run (see `run.Plan.resolve`).
OPTIONS = frozenset({"tools", "tool_choice", "temperature", "stop", "response_format"})
SETTINGS = tuple(sorted(FIELDS - OPTIONS))


# What a run without a context gets; frozen, so one instance serves every such run and
# `Plan.resolve` knows it at a glance.
DEFAULT_CONTEXT = Context()


def context_of(value: Any) -> Context:
    """The run's options, whether given as a Context, a dict, or not at all."""
    if value is None:
        return DEFAULT_CONTEXT
    if isinstance(value, Context):
        return value
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        raise ConfigError(f"context: expected an object of run settings, got a {kind}")
    # A server may pass a context dict with keys of its own: take ours, ignore the rest.
    return Context(**{k: v for k, v in value.items() if k in FIELDS})
