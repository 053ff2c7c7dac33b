"""The smallest value that is valid for a JSON schema.

The mock is the last resort: when an app forces a tool call or asks for structured
output, a plain-text apology would break the app's parser, so the mock answers with a
value its schema accepts instead.
"""

from __future__ import annotations

from collections.abc import Mapping
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
