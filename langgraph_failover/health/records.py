"""Circuit records as Redis holds them: JSON text, checked before it is trusted.

Anything can sit at a key of ours in a shared Redis: a value another program wrote, a
hash instead of a string, a record of an older layout. `loads` accepts only the exact
shape of a `Circuit` (see `circuit.py`); the store reads anything else as a closed
circuit, and its next update replaces it.
"""

from __future__ import annotations

import json
from typing import cast

import redis

from langgraph_failover.health.circuit import Circuit

WRONG_TYPE = object()  # what a GET of a key holding a list, a hash, ... reads as
_FIELDS = {"failures", "open_until", "reason"}
_OPTIONAL = {"since"}  # absent from records written before it was kept


class NotARecord(ValueError):
    """The value at a circuit key is not a record of ours."""


def loads(raw: object) -> Circuit | None:
    """The record in `raw` (None: no value); `NotARecord` for anything else."""
    if raw is None:
        return None
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if not _is_circuit(value):
        raise NotARecord(f"not a circuit record: {type(raw).__name__}")
    return cast(Circuit, value)


def dumps(record: Circuit) -> str:
    """The JSON text stored for `record`."""
    return json.dumps(record)


def wrong_type(exc: redis.ResponseError) -> object:
    """`WRONG_TYPE` for a WRONGTYPE reply (someone else's key); any other error goes on."""
    if not str(exc).startswith("WRONGTYPE"):
        raise exc
    return WRONG_TYPE


def _is_circuit(value: object) -> bool:
    """Whether a decoded JSON value has the exact shape of a `Circuit`."""
    if not isinstance(value, dict) or not _FIELDS <= set(value) <= _FIELDS | _OPTIONAL:
        return False
    failures, until, since = value["failures"], value["open_until"], value.get("since", 0.0)
    # Comparisons are false for NaN; the bounds keep absurd numbers out of timestamps.
    return (
        type(failures) is int
        and 0 <= failures < 2**31
        and (until is None or _epoch(until))
        and _epoch(since)
        and isinstance(value["reason"], str)
    )


def _epoch(value: object) -> bool:
    """A number usable as epoch seconds (comparisons are false for NaN)."""
    return type(value) in (int, float) and 0 <= value < 1e12  # type: ignore[operator]
