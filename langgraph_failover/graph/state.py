"""The graph's state: plain data only, so every checkpointer stores it losslessly.

A turn's attempts are kept apart from the previous turn's without an extra "start turn"
step: each attempt records the graph step that made it, and one run's provider nodes run
on consecutive steps (a resumed run continues them), while a new run's input and entry
steps come in between. A message sent again, same id and all, is still a new turn.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage, UsageMetadata

from langgraph_failover.graph.history import merge_messages


class Trimmed(TypedDict):
    """What fitting a provider's context window left out of one request."""

    dropped: int
    """Messages not sent (the oldest, never the system message)."""
    sent_tokens: int
    """Estimated tokens of what was sent."""
    limit: int
    """The provider's configured context window."""


class Truncated(TypedDict):
    """A provider that evaluated fewer prompt tokens than were sent: it cut the prompt."""

    sent_tokens: int
    """Estimated tokens of what was sent (`nodes/fit.py`'s estimate)."""
    evaluated: int
    """Prompt tokens the provider reports evaluating (Ollama's `prompt_eval_count`)."""


class Attempt(TypedDict):
    """One call (or refusal to call) of one provider, as it goes into the checkpoint."""

    provider: str
    model: str
    node: str
    ok: bool
    error: str | None
    """`None` on success, else an `errors.ErrorKind`."""
    status_code: int | None
    latency_ms: float
    detail: str | None
    """The provider's error message, API keys masked; `None` on success."""
    retry_after: float | None
    """Seconds the provider asked us to wait (a 429's Retry-After), if it said."""
    waited_ms: float
    """Time waited before this call (a Retry-After or a backoff being waited out)."""
    backoff: float | None
    """Seconds to wait before retrying this transient server fault on the same provider
    (jittered, fixed when recorded so a resumed run waits the same); None if not one."""
    tools_dropped: bool
    """The provider refused tools ("does not support tools"), so it was asked without."""
    probe: bool
    """This call was the half-open probe of the provider's circuit."""
    trimmed: Trimmed | None
    """What fitting the provider's context window left out (`nodes/fit.py`), if anything."""
    usage: UsageMetadata | None
    """Tokens the provider reported for this call, whether or not its answer was used
    (a refused, empty answer is billed too); None when it reported none. The answer
    itself reports only its own provider's."""
    truncated: Truncated | None
    """The provider evaluated well under the prompt sent (Ollama cut it to its window)."""
    open_until: float | None
    """Epoch seconds the provider's circuit is open until, if this left it open."""
    turn: str
    """Id of the message being answered."""
    step: int
    """The graph step that made it: one run's attempts are on consecutive steps."""


class Skip(TypedDict):
    """A provider this thread avoids, and until when."""

    until: float
    reason: str
    key: str
    """The circuit key it was learned for; another upstream on that node is not skipped."""


class Sticky(TypedDict):
    """Which provider serves a thread after a failover, why, and until when."""

    node: str
    provider: str
    reason: str
    """The error kind that made the primary unavailable."""
    until: float
    """Epoch seconds after which the thread tries the primary again."""
    skip: dict[str, Skip]
    """Every node this thread skips (by node name), the primary included."""


def merge_attempts(current: list[Attempt] | None, new: list[Attempt]) -> list[Attempt]:
    """Append this run's attempts; a new run (not on the next step) starts a new list."""
    if not current or not new or new[0]["step"] != current[-1]["step"] + 1:
        return list(new)
    return [*current, *new]


class InputState(TypedDict):
    """What a caller sends: the new message(s), or the whole history."""

    messages: Annotated[list[AnyMessage], merge_messages]


class RouteState(TypedDict, total=False):
    """What the routers read.

    LangGraph hands a conditional edge only the channels its input type names, so routing
    never copies, or re-merges, the conversation, however long it is.
    """

    attempts: Annotated[list[Attempt], merge_attempts]
    """This turn's attempts, in order."""
    sticky: Sticky | None
    """Set after a failover, cleared when the primary answers again."""


class State(InputState, RouteState, total=False):
    """The checkpointed conversation plus the facts of the last turn."""

    served_by: str
    """The provider that answered this turn."""
    degraded: bool
    """True when the mock answered."""
