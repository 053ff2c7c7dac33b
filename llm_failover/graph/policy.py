"""The failure policy: how long to wait, when to retry, when a circuit opens.

Immutable and validated when the graph is built (see `settings.load_settings`). Routers
and the circuit breaker read it; nothing else decides what a failure costs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

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
    values: dict[str, Any] = {}
    for key, setting in names.items():
        if raw.get(key) is None:
            continue
        if key == "failure_threshold":
            values[key] = _count(raw[key], setting)
        else:
            # Only the quota cooldown may be 0 (no circuit); a zero budget is a typo.
            values[key] = seconds(raw[key], setting, zero_ok=key == "quota_cooldown")
    return dataclasses.replace(base or Policy(), **values)


def seconds(value: Any, setting: str, *, zero_ok: bool = False) -> float:
    """Parse a number of seconds, naming the setting when it is malformed."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{setting}: expected a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
        kind = "zero or more" if zero_ok else "a positive number of"
        raise ConfigError(f"{setting}: must be {kind} seconds, got {value!r}")
    return number


def _count(value: Any, setting: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{setting}: expected a whole number, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{setting}: must be 1 or more, got {value!r}")
    return number
