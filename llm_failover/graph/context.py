"""Per-run options: what the caller asks of the model on this call, not on every call.

Passed as `graph.invoke(..., context=Context(...))` (or a dict); the drop-in chat model
fills it from `bind_tools`, `temperature` and `stop`. Every provider node translates it
to its own client's parameters, so tools reach every provider that accepts them. It is
never checkpointed: it belongs to the call.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """Options for the model calls of one run."""

    tools: list[dict[str, Any]] | None = dataclasses.field(
        default=None,
        metadata={"description": "Tools offered to the model, in OpenAI's function format."},
    )
    tool_choice: str | dict[str, Any] | None = dataclasses.field(
        default=None,
        metadata={"description": "'auto', 'any'/'required', or a tool name to force."},
    )
    temperature: float | None = dataclasses.field(
        default=None, metadata={"description": "Sampling temperature; None: the provider's."}
    )
    stop: list[str] | None = dataclasses.field(
        default=None, metadata={"description": "Stop sequences."}
    )
    response_format: dict[str, Any] | None = dataclasses.field(
        default=None,
        metadata={"description": "JSON output, in OpenAI's response_format spelling."},
    )


def context_of(value: Any) -> Context:
    """The run's options, whether given as a Context, a dict, or not at all."""
    if value is None:
        return Context()
    if isinstance(value, Context):
        return value
    # A server may pass a context dict with keys of its own: take ours, ignore the rest.
    known = {field.name for field in dataclasses.fields(Context)}
    return Context(**{k: v for k, v in dict(value).items() if k in known})
