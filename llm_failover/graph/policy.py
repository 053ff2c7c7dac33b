"""The failure policy: how long to wait, when to retry, when a circuit opens.

Immutable and validated when the graph is built (see `settings.load_settings`). Routers
and the circuit breaker read it; nothing else decides what a failure costs. `BOUNDS` is
the one table of the numeric settings' ranges: the environment and a run's context are
checked against it, so no value can be absurd, whoever sends it.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from llm_failover.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """What the graph does after each kind of failure."""

    quota_cooldown: float = 300.0
    """Seconds a provider's circuit stays open after `insufficient_quota`; 0 disables."""
    retry_budget: float = 5.0
    """The longest Retry-After the graph waits out (once) before retrying a provider."""
    rate_limit_cooldown: float = 30.0
    """Circuit cooldown after a 429 whose Retry-After is absent (else the Retry-After)."""
    failure_threshold: int = 3
    """Consecutive 5xx/timeout/connection/auth/not-found failures that open the circuit."""
    failure_cooldown: float = 30.0
    """Seconds the circuit stays open after `failure_threshold` failures."""
    turn_budget: float = 60.0
    """Seconds of waits plus calls one turn may spend before only the mock is left."""


class Bound(NamedTuple):
    """The range a numeric setting must fall in, whoever sets it."""

    low: float
    """The smallest value allowed (inclusive when `zero_ok`, else exclusive of 0)."""
    high: float
    """The largest value allowed, inclusive."""
    zero_ok: bool = False
    """Whether 0 is meaningful (the quota cooldown: no circuit)."""
    whole: bool = False
    """Whether the value is a count (a whole number) rather than seconds."""


DAY = 86_400.0
BOUNDS: Mapping[str, Bound] = {
    "timeout": Bound(0.0, 3600.0),
    "turn_budget": Bound(0.0, 7200.0),
    "retry_budget": Bound(0.0, 600.0),
    "quota_cooldown": Bound(0.0, DAY, zero_ok=True),
    "rate_limit_cooldown": Bound(0.0, DAY),
    "failure_cooldown": Bound(0.0, DAY),
    "failure_threshold": Bound(1, 1000, whole=True),
}
"""Every numeric setting's range, by keyword (also its context field)."""

# Settings a run may only lower: raising them would let one caller hold shared workers
# (and the provider's capacity) longer than the deployer allowed.
CAPPED_BY_GRAPH = ("timeout", "turn_budget", "retry_budget")

# override keyword -> environment variable
POLICY_ENV: Mapping[str, str] = {
    "quota_cooldown": "LLM_FAILOVER_QUOTA_COOLDOWN",
    "retry_budget": "LLM_FAILOVER_RETRY_BUDGET",
    "rate_limit_cooldown": "LLM_FAILOVER_RATE_LIMIT_COOLDOWN",
    "failure_threshold": "LLM_FAILOVER_FAILURE_THRESHOLD",
    "failure_cooldown": "LLM_FAILOVER_FAILURE_COOLDOWN",
    "turn_budget": "LLM_FAILOVER_TURN_BUDGET",
}


def load_policy(
    raw: Mapping[str, Any], *, base: Policy | None = None, names: Mapping[str, str] = POLICY_ENV
) -> Policy:
    """`base` (the defaults) with the values in `raw` that are not None, validated.

    A malformed value is refused with its setting's name from `names`: the environment
    variable when the graph is built, the context field when a run overrides it.
    """
    values = {key: number(raw[key], setting, key)
              for key, setting in names.items() if raw.get(key) is not None}  # fmt: skip
    return dataclasses.replace(base or Policy(), **values)


def number(value: Any, setting: str, key: str) -> Any:
    """Parse the setting `key` within its `BOUNDS`, naming `setting` when it is not."""
    bound = BOUNDS[key]
    if bound.whole:
        return _count(value, setting, bound)
    return seconds(value, setting, zero_ok=bound.zero_ok, high=bound.high)


def seconds(value: Any, setting: str, *, zero_ok: bool = False, high: float = DAY) -> float:
    """Parse a number of seconds, naming the setting when it is malformed."""
    try:
        if isinstance(value, bool):
            raise TypeError  # True is 1 to float(), never a number of seconds to a person
        parsed = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{setting}: expected a number of seconds, got {show(value)}") from None
    if not math.isfinite(parsed) or parsed < 0 or (parsed == 0 and not zero_ok):
        kind = "zero or more" if zero_ok else "a positive number of"
        raise ConfigError(f"{setting}: must be {kind} seconds, got {show(value)}")
    if parsed > high:
        raise ConfigError(f"{setting}: must be at most {high:g} seconds, got {show(value)}")
    return parsed


def _count(value: Any, setting: str, bound: Bound) -> int:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.strip().lstrip("-").isdigit() or len(text) > 12:
        raise ConfigError(f"{setting}: expected a whole number, got {show(value)}")
    parsed = int(text)
    if not bound.low <= parsed <= bound.high:
        raise ConfigError(
            f"{setting}: must be {bound.low:g} or more and at most {bound.high:g}, "
            f"got {show(value)}"
        )
    return parsed


def show(value: Any, limit: int = 80) -> str:
    """A short `repr` of `value`: an error message must stay small whatever was sent."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"  # repr() refuses huge ints
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60
