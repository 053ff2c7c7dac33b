"""What each error kind leads to: the one table every reader decides from.

`errors.classify` names the kind of a provider error; everything that follows from the
kind is a field of its `Kind` below, read by the provider node (raise or fail over, drop
the tools), the routers (retry the same provider), the circuit (count, open, for how
long) and the logs (a request failed, or none was made). A new kind is one `ErrorKind`
name and one entry here, plus where `classify` recognises it; the docs' failure-policy
table is `policy_table()`, and a test keeps the two equal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

ErrorKind = Literal[
    "insufficient_quota",
    "rate_limited",
    "server_error",
    "timeout",
    "connection",
    "auth",
    "not_found",
    "context_length",
    "bad_request",
    "tools_unsupported",
    "not_configured",
    "circuit_open",
    "hedged",
    "paced",
]

Retry = Literal["never", "retry_after", "backoff", "without_tools"]
Cooldown = Literal["quota", "retry_after", "failure"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Kind:
    """The consequences of one error kind."""

    name: ErrorKind
    source: str
    """What it is recorded for (the failure-policy table's first column)."""
    provider_error: bool = True
    """The provider said or did it. False for the node's own outcomes, which make no
    request (or cancel one: `hedged`): they move the turn on, are logged at DEBUG and
    never touch a circuit."""
    fails_over: bool = True
    """The turn moves to the next provider; False: the error is raised to the caller."""
    retry: Retry = "never"
    """`retry_after`: the router sends the turn back to the same provider once, when the
    `Retry-After` fits the retry budget and what is left of the turn budget
    (`routing.should_retry`); the circuit waits for that retry's verdict.
    `backoff`: as `retry_after` when the error carried a `Retry-After` (a 503's); else,
    when it was transient (`errors.transient`: 500, 502, 503, 504, a connection dropped
    before any response), the router sends the turn back to the same provider after a
    short jittered backoff, up to `LLM_FAILOVER_SERVER_RETRIES` times, within what is left
    of the turn budget; the circuit waits for the last retry's verdict.
    `without_tools`: the node asks the same provider once more, without the run's tools,
    when the run has tools; otherwise `fails_over` decides."""
    cooldown: Cooldown | None = None
    """What opens the circuit (`circuit.after_failure`): `quota`, the quota cooldown, at
    once; `retry_after`, the upstream's Retry-After (capped) or the rate-limit cooldown,
    at once; `failure`, the failure cooldown once the threshold of consecutive counted
    failures is reached, or when a probe fails. None: the circuit is left as it is."""
    action: str = ""
    """The action in words, for an outcome of the node's own that its other fields
    cannot say (a request it cancelled); empty: derived from the fields."""

    def __post_init__(self) -> None:
        """Refuse entries that contradict themselves (checked when the module loads)."""
        moves_on = self.fails_over and self.retry == "never" and self.cooldown is None
        if not self.provider_error and not moves_on:
            raise ValueError(f"{self.name}: no request was made, so it can only fail over")

    @property
    def counted(self) -> bool:
        """It counts toward the circuit's consecutive-failure threshold."""
        return self.cooldown == "failure"


_TABLE = (
    Kind(name="insufficient_quota", source="429 with code `insufficient_quota`",
         cooldown="quota"),
    Kind(name="rate_limited", source="429 `rate_limit_exceeded` (any other 429)",
         retry="retry_after", cooldown="retry_after"),
    Kind(name="server_error", cooldown="failure", retry="backoff",
         source="5xx, Ollama 503 \"server busy\", an error inside a stream, an empty stream, "
         "malformed stream data, a stream ended with neither its terminator nor a finish "
         "reason, a 200 with no text and no tool calls (or without a tool call the run forced)"),
    Kind(name="timeout", cooldown="failure",
         source="read/connect timeout, 408; also the turn budget spent (recorded with no "
         "request made, so not counted)"),
    Kind(name="connection", source="connection refused or reset, stream cut mid-answer",
         cooldown="failure", retry="backoff"),
    Kind(name="auth", source="401, 403 (an operator sees it in `attempts`)", cooldown="failure"),
    Kind(name="not_found", source="404 (unknown model; Ollama's \"try pulling it first\")",
         cooldown="failure"),
    Kind(name="context_length",
         source="400 `context_length_exceeded` or its equivalents (\"maximum context length is "
         "N tokens\", \"exceeds the available context size\"); a window it states is "
         "remembered for that upstream and later turns' history fitted to it"),
    Kind(name="bad_request", fails_over=False,
         source="400, 413, 422: it would fail the same on every provider"),
    Kind(name="tools_unsupported", fails_over=False, retry="without_tools",
         source="400 \"does not support tools\" (small Ollama models)"),
    Kind(name="not_configured", provider_error=False, source="no API key configured"),
    Kind(name="circuit_open", provider_error=False, source="the provider's circuit is open"),
    Kind(name="hedged", provider_error=False,
         source="a request cancelled because the other call of a hedge sent its first token "
         "first (`LLM_FAILOVER_HEDGE_AFTER`)",
         action="the other call's answer is used; this request is cancelled, its connection "
         "closed"),
    Kind(name="paced", provider_error=False,
         source="its `x-ratelimit-*` budget is spent until a reset beyond the retry budget "
         "(`LLM_FAILOVER_PACING`)"),
)  # fmt: skip

KINDS: Mapping[str, Kind] = MappingProxyType({kind.name: kind for kind in _TABLE})
"""Every error kind by name."""

if set(KINDS) != set(get_args(ErrorKind)) or len(KINDS) != len(_TABLE):
    raise ValueError("every ErrorKind has exactly one entry in the kinds table")


def kind_of(name: str | None) -> Kind | None:
    """The entry for a recorded kind; None for a success or a name this release lacks."""
    return KINDS.get(name) if name else None


_RETRY = {
    "retry_after": "if its `Retry-After` fits `LLM_FAILOVER_RETRY_BUDGET` and the turn "
    "budget, wait it out and retry the same provider once; else",
    "backoff": "if transient (a 500, 502, 503 or 504; a connection dropped before any "
    "response), retry the same provider after a 0.2 to 0.5 s jittered backoff "
    "(`LLM_FAILOVER_SERVER_RETRIES` times), within the turn budget; a `Retry-After` is "
    "waited out as a 429's; else",
    "without_tools": "if the run has tools, ask the same provider once more without them; else",
}
_COOLDOWN = {
    None: "unchanged",
    "quota": "opens for `LLM_FAILOVER_QUOTA_COOLDOWN`",
    "retry_after": "unchanged while its retry is pending; else opens for the `Retry-After` "
    "(at most an hour) or `LLM_FAILOVER_RATE_LIMIT_COOLDOWN`",
    "failure": "counts: `LLM_FAILOVER_FAILURE_THRESHOLD` in a row (or a failed probe) "
    "open it for `LLM_FAILOVER_FAILURE_COOLDOWN`",
}


def consequences(kind: Kind) -> tuple[str, str]:
    """The kind's action and circuit columns, in words, derived from its fields alone."""
    if not kind.provider_error:
        return kind.action or "fail over without a request", "untouched (not a provider error)"
    then = "fail over" if kind.fails_over else "**raised** to the caller"
    if kind.retry == "never":
        action = f"{then} at once" if kind.fails_over else then
    else:
        action = f"{_RETRY[kind.retry]} {then}"
    circuit = _COOLDOWN[kind.cooldown]
    if kind.retry == "backoff":
        circuit = f"unchanged while its retry is pending; else {circuit}"
    return action, circuit


def policy_table() -> str:
    """The failure-policy table (docs/failure-policy.md), one row per kind, as Markdown."""
    rows = ["| Error | Kind | Action | Circuit |", "| --- | --- | --- | --- |"]
    for kind in _TABLE:
        action, circuit = consequences(kind)
        rows.append(f"| {kind.source} | `{kind.name}` | {action} | {circuit} |")
    rows.append("| anything else | — | **raised** unchanged: failing over would hide a bug "
                "| unchanged |")  # fmt: skip
    return "\n".join(rows) + "\n"
