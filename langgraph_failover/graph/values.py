"""Reading a setting's value: numbers within their bounds, and short quotes of bad input.

Whoever sends a value (the environment, a keyword, a run's context), it is parsed here and
refused with a `ConfigError` that names the setting, quotes the value briefly and says what
would be valid. The ranges themselves are declared with the settings (`declared.py`).
"""

from __future__ import annotations

import math
import reprlib
from typing import Any, NamedTuple

from langgraph_failover.errors import ConfigError

DAY = 86_400.0


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

    def parse(self, value: Any, setting: str) -> float | int:
        """`value` within this range, or a `ConfigError` naming `setting`."""
        if self.whole:
            return count(value, setting, self)
        return seconds(value, setting, zero_ok=self.zero_ok, high=self.high)

    def describe(self) -> str:
        """The range for people: `1 to 1,000`, `over 0, at most 3,600 s`."""
        if self.whole:
            return f"{self.low:,g} to {self.high:,g}"
        return f"0 to {self.high:,g} s" if self.zero_ok else f"over 0, at most {self.high:,g} s"


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


def count(value: Any, setting: str, bound: Bound) -> int:
    """Parse a whole number within `bound`, naming the setting when it is not one."""
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
