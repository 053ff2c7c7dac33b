"""The smallest value that is valid for a JSON schema, and the answers built from it.

The mock is the last resort: when an app forces a tool call or asks for structured
output, a plain-text apology would break the app's parser, so the mock answers with a
value its schema accepts instead. The emulators in `langgraph_failover.testing` answer such
requests the same way (a real provider keeps to the schema too), so both use this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

PLACEHOLDER = "[FALLBACK]"


def example(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Any:
    """Return a value that validates against `schema` (a JSON schema dict)."""
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    if "$ref" in schema:
        return example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example(options[0], defs)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _by_type(kind, schema, defs)


def _by_type(kind: str, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    if kind == "string":
        return PLACEHOLDER.ljust(int(schema.get("minLength", 0)), ".")
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(0, low + (1 if "exclusiveMinimum" in schema else 0))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if kind == "array":
        item = example(schema.get("items", {}), defs)
        return [item] * int(schema.get("minItems", 0))
    properties: Mapping[str, Any] = schema.get("properties", {})
    return {name: example(properties.get(name, {}), defs) for name in schema.get("required", [])}


# tool_choice values that leave the model free to answer in text.
UNFORCED = (None, False, "auto", "none")


def forced_call(tools: Sequence[Mapping[str, Any]], choice: Any) -> dict[str, Any] | None:
    """The tool call a forced `tool_choice` demands, with schema-valid arguments.

    `tools` are in OpenAI's function format; `choice` in any spelling a client sends:
    LangChain's ("any", True, a tool name) or OpenAI's ("required", `{"type":
    "function", "function": {"name": ...}}`). None when the choice forces nothing.
    """
    if not tools or choice in UNFORCED:
        return None
    wanted = choice.get("function", {}).get("name") if isinstance(choice, dict) else choice
    functions = [tool["function"] for tool in tools]
    chosen = next((f for f in functions if f["name"] == wanted), functions[0])
    return {"name": chosen["name"], "args": example(chosen.get("parameters") or {})}


def json_text(response_format: Any) -> str | None:
    """JSON text that a `response_format` accepts (None: it asks for no JSON).

    A JSON-schema format gets an instance of its schema; JSON mode names no keys (they
    are only in the prompt), so it gets the empty object.
    """
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return json.dumps(example(schema), ensure_ascii=False)
    return "{}" if kind == "json_object" else None
