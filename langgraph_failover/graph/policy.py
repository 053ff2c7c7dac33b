"""The failure policy: how long to wait, when to retry, when a circuit opens.

Immutable and validated when the graph is built (see `settings.load_settings`). Routers
and the circuit breaker read it; nothing else decides what a failure costs. Each field is
the declared setting of the same keyword (`declared.py`): its variable, default, range and
meaning are there, and the environment and a run's context are both checked against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from langgraph_failover.graph.declared import BY_KEYWORD, Setting

_D = BY_KEYWORD


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """What the graph does after each kind of failure; each field is a declared setting."""

    quota_cooldown: float = _D["quota_cooldown"].default
    retry_budget: float = _D["retry_budget"].default
    server_retries: int = _D["server_retries"].default
    rate_limit_cooldown: float = _D["rate_limit_cooldown"].default
    failure_threshold: int = _D["failure_threshold"].default
    failure_cooldown: float = _D["failure_cooldown"].default
    turn_budget: float = _D["turn_budget"].default


POLICY: tuple[Setting, ...] = tuple(_D[field.name] for field in dataclasses.fields(Policy))
"""The declared settings that make up a `Policy`, in its field order."""


def load_policy(
    raw: Mapping[str, Any], *, base: Policy | None = None, context: bool = False
) -> Policy:
    """`base` (the defaults) with the values in `raw` that are not None, validated.

    A malformed value is refused with its setting's name: the environment variable when
    the graph is built, `context <field>` when a run overrides it.
    """
    values = {s.keyword: s.parse(raw[s.keyword], f"context {s.field}" if context else s.env)
              for s in POLICY if s.keyword and raw.get(s.keyword) is not None}  # fmt: skip
    return dataclasses.replace(base or Policy(), **values)
