"""One attempt at one provider: the decisions and the record, shared by sync and async.

`Call` holds everything a provider node decides: whether the circuit or the turn budget
lets it call, how long to wait first (a short Retry-After), whether a raised error is a
failover (via `errors.classify`), the circuit's next record, and the state update with
the attempt and, when it answered, the sticky routing of the thread. The node shells in
`call.py` add only the I/O: store, sleep, and `invoke` or `ainvoke`.
"""

from __future__ import annotations

import dataclasses
import time
from types import TracebackType
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from llm_failover.clock import Clock
from llm_failover.errors import Failure, classify, fails_over
from llm_failover.graph.context import Context
from llm_failover.graph.policy import Policy
from llm_failover.graph.routing import should_retry, spent
from llm_failover.graph.settings import ProviderSpec
from llm_failover.graph.state import Attempt, Skip, State, Sticky
from llm_failover.health.circuit import Admission, Circuit, after_failure
from llm_failover.nodes.options import NO_TOOL_SUPPORT, ModelCall, bind_options


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Link:
    """What a provider node needs besides its model, fixed when the graph is built."""

    spec: ProviderSpec
    chain: tuple[str, ...]
    """Node names in chain order; the first is the primary."""
    policy: Policy
    clock: Clock
    key: str
    """The circuit key (provider, URL, model, key hash); "" for the mock (no circuit)."""
    claim_for: float
    """How long a half-open probe claim lasts: the per-call timeout."""


def _failure(kind: Any, detail: str) -> Failure:
    return {"kind": kind, "status_code": None, "retry_after": None, "detail": detail}


def _empty(answer: BaseMessage | None) -> bool:
    if answer is None:
        return False
    return not answer.text.strip() and not getattr(answer, "tool_calls", None)


class Call:
    """One attempt; see `call.provider_node` for the order its methods are used in."""

    def __init__(
        self, link: Link, state: State, model: BaseChatModel | None, context: Context
    ) -> None:
        self.link = link
        self.state = state
        self.model = model
        self.context = context
        self.call: ModelCall | None = bind_options(model, context) if model else None
        self.tools_dropped = False
        self.messages: list[BaseMessage] = list(state["messages"])
        self.turn = str(self.messages[-1].id) if self.messages else ""
        self.earlier = [a for a in state.get("attempts", []) if a["turn"] == self.turn]
        self.now = link.clock.now()
        previous = self.earlier[-1] if self.earlier else None
        # Called again right after our own failure: the router granted a Retry-After retry.
        retrying = previous is not None and previous["node"] == link.spec.node
        self.wait = (previous["retry_after"] or 0.0) if previous and retrying else 0.0
        self.record: Circuit | None = None
        self.answer: BaseMessage | None = None
        self.failure: Failure | None = None
        self.requested = False
        self.latency = 0.0
        self._started = time.perf_counter()

    def admit(self, decision: Admission, record: Circuit | None) -> bool:
        """Whether to make the request; if not, the reason is recorded as the failure."""
        self.record = record
        policy = self.link.policy
        if decision == "skip" and record is not None:
            self.failure = _failure(
                "circuit_open", f"circuit open after {record['reason']}; no request made"
            )
        elif self.link.key and spent(self.earlier) + self.wait >= policy.turn_budget:
            detail = f"turn budget of {policy.turn_budget:g}s spent; no request made"
            self.failure = _failure("timeout", detail)
        self.requested = self.failure is None
        return self.requested

    def __enter__(self) -> Call:
        if not self.tools_dropped:  # the call without tools belongs to the same attempt
            self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.latency = time.perf_counter() - self._started
        self.call = None  # done, unless the tools are dropped for a second call below
        if exc is None:
            return False
        self.failure = classify(exc)
        if self._drop_tools():
            return True
        # Unknown errors and bad requests propagate: failing over would hide a bug.
        return self.failure is not None and fails_over(self.failure["kind"])

    def _drop_tools(self) -> bool:
        """A model without tool support: call it again once, without the tools."""
        failure = self.failure
        if (
            failure is None
            or failure["kind"] != "bad_request"
            or NO_TOOL_SUPPORT not in failure["detail"]
            or not self.context.tools
            or self.tools_dropped
            or self.model is None
        ):
            return False
        self.tools_dropped, self.failure = True, None
        self.call = bind_options(self.model, self.context, tools=False)
        return True

    def failover_event(self) -> dict[str, Any] | None:
        """The stream event announcing that this node takes over from a failed one."""
        last = self.earlier[-1] if self.earlier else None
        if last is None or last["ok"] or last["node"] == self.link.spec.node:
            return None  # the turn's first attempt, or a retry of the same provider
        return {"type": "failover", "from": last["provider"], "to": self.link.spec.provider,
                "reason": last["error"]}  # fmt: skip

    def finish(self) -> tuple[Attempt, Circuit | None, bool]:
        """The attempt's record, the circuit's next record, and whether that changed."""
        if self.failure is None and self.requested and _empty(self.answer):
            # Some servers answer 200 with nothing in it; a user can't use that either.
            self.failure = _failure("server_error", "empty answer: no text and no tool calls")
        failure = self.failure
        attempt: Attempt = {
            "provider": self.link.spec.provider,
            "model": self.link.spec.model,
            "node": self.link.spec.node,
            "ok": failure is None,
            "error": failure["kind"] if failure else None,
            "status_code": failure["status_code"] if failure else None,
            "latency_ms": round(self.latency * 1000, 3),
            "detail": failure["detail"] if failure else None,
            "retry_after": failure["retry_after"] if failure else None,
            "waited_ms": round(self.wait * 1000, 3),
            "tools_dropped": self.tools_dropped,
            "open_until": self.record["open_until"] if self.record else None,
            "turn": self.turn,
        }
        if not self.link.key or not self.requested:
            return attempt, self.record, False  # no request: nothing new about health
        if failure is None:
            attempt["open_until"] = None
            return attempt, None, self.record is not None
        retrying = should_retry([*self.earlier, attempt], self.link.policy)
        # Read the clock again: a Retry-After may have been waited out since admission.
        self.now = self.link.clock.now()
        record = after_failure(self.record, failure, self.link.policy, self.now,
                               retrying=retrying)  # fmt: skip
        attempt["open_until"] = record["open_until"] if record else None
        return attempt, record, record != self.record

    def update(self, attempt: Attempt) -> dict[str, Any]:
        """The state update: the failed attempt alone, or the answer and its facts."""
        if self.failure is not None or self.answer is None:
            return {"attempts": [attempt]}
        spec = self.link.spec
        degraded = spec.provider == "mock"
        facts = {"served_by": spec.provider, "degraded": degraded,
                 "attempts": [*self.earlier, attempt]}  # fmt: skip
        answer = self.answer.model_copy(
            update={"response_metadata": {**self.answer.response_metadata, "failover": facts}}
        )
        return {"messages": [answer], "attempts": [attempt], "served_by": spec.provider,
                "degraded": degraded, "sticky": self._sticky(attempt)}  # fmt: skip

    def _sticky(self, attempt: Attempt) -> Sticky | None:
        """Remember, in the thread, which providers to skip while their circuits are open."""
        old = self.state.get("sticky")
        skip: dict[str, Skip] = {
            n: s for n, s in (old["skip"] if old else {}).items() if s["until"] > self.now
        }
        for failed in self.earlier:
            if failed["open_until"] is not None and failed["open_until"] > self.now:
                skip[failed["node"]] = {
                    "until": failed["open_until"],
                    "reason": failed["error"] or "",
                }
        skip.pop(attempt["node"], None)
        if attempt["node"] == self.link.chain[0] or not skip:
            return None
        first = next(n for n in self.link.chain if n in skip)
        return {
            "node": attempt["node"],
            "provider": attempt["provider"],
            "reason": skip[first]["reason"],
            "until": skip[first]["until"],
            "skip": skip,
        }
