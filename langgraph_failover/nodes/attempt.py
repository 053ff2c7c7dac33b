"""One attempt at one provider: its decisions and its record, free of I/O.

`Call` decides whether the circuit or the turn budget lets the provider be called, how
long to wait first (a Retry-After the router granted), what a raised error means (via
`errors.classify`) and leads to (its `kinds.KINDS` entry), how the circuit changes, and
what goes into state. `steps.py` runs it; the sync and async node shells in `call.py`
only carry out its I/O.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig

from langgraph_failover.clock import Clock
from langgraph_failover.errors import (
    NO_REQUEST,
    ErrorKind,
    Failure,
    classify,
    keep_status,
    transient,
)
from langgraph_failover.graph.context import Context
from langgraph_failover.graph.entry import Skipped, open_detail, skip_attempt
from langgraph_failover.graph.routing import backoff, pause, should_retry, spent
from langgraph_failover.graph.run import Plan, Run
from langgraph_failover.graph.settings import ProviderSpec
from langgraph_failover.graph.state import Attempt, State, Truncated
from langgraph_failover.health.circuit import (
    Admission,
    Circuit,
    after_failure,
    after_success,
    stricter,
    ttl,
)
from langgraph_failover.health.store import Transition
from langgraph_failover.kinds import KINDS
from langgraph_failover.nodes.deadlines import Limits, StreamCut
from langgraph_failover.nodes.fit import fit
from langgraph_failover.nodes.options import ModelCall, bind_options, trace_config
from langgraph_failover.nodes.truncation import truncation
from langgraph_failover.pacing.headless import Headless
from langgraph_failover.providers.mock_schema import UNFORCED
from langgraph_failover.secrets import mask_error
from langgraph_failover.streams import unfinished
from langgraph_failover.windows import WINDOWS, fit_limit, stated_window


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Link:
    """What a provider node needs besides its model, fixed when the graph is built."""

    spec: ProviderSpec
    chain: tuple[str, ...]
    """The graph's node names in chain order; the first is the primary."""
    plan: Plan
    """The graph's settings, and how a run's context changes them."""
    clock: Clock
    secrets: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    """Every configured secret (`Settings.secrets`), masked out of errors whatever its shape."""
    pacing: Headless | None = None
    """None: unpaced; else calls are paced by the upstream's rate-limit headers
    (`nodes.pacing`), and this remembers the upstreams that send none."""
    paced: Mapping[str, Headless] = dataclasses.field(default_factory=dict, repr=False)
    """Every paced node's `pacing`, by node: where the turn started, the providers
    skipped before it as paced are read again (`graph.entry`)."""


def failure(kind: ErrorKind, detail: str) -> Failure:
    """A failure that is ours to report (no request made, or an empty answer)."""
    return {"kind": kind, "status_code": None, "retry_after": None, "detail": detail}


def _empty(answer: BaseMessage | None) -> bool:
    return answer is not None and not answer.text.strip() and not getattr(answer, "tool_calls", 0)


class Call:
    """One attempt; `steps.attempt_steps` says in which order its methods are used."""

    def __init__(
        self, link: Link, state: State, model: BaseChatModel | None, context: Context, step: int
    ) -> None:
        self.link, self.state, self.model, self.context = link, state, model, context
        self.run: Run = link.plan.resolve(context)
        self.key = self.run.keys[link.spec.node]
        """This run's circuit key for the node ("" for the mock)."""
        self.model_name = self.run.models[link.spec.node]
        history: list[BaseMessage] = list(state["messages"])
        self.turn = str(history[-1].id) if history else ""
        # The configured window, or the one this upstream stated, if smaller.
        limit = fit_limit(link.spec.context_tokens, self.key)
        self.messages, self.trimmed, self.sent_tokens = fit(history, limit)
        self.step = step
        recorded = state.get("attempts") or []
        # Attempts of this run sit on the steps just before ours; an earlier run's do not.
        self.earlier = recorded if recorded and recorded[-1]["step"] == step - 1 else []
        previous = self.earlier[-1] if self.earlier else None
        self.retry = previous is not None and previous["node"] == link.spec.node
        self.wait = pause(previous) if previous and self.retry else 0.0
        self.probing = bool(previous and self.retry and previous["probe"])
        self.now = link.clock.now()
        self.answer: BaseMessage | None = None
        self.failure: Failure | None = None
        self.requested = self.tools_dropped = self._done = self.clean = self.transient = False
        self.truncated: Truncated | None = None
        self.latency = 0.0
        self.given: float | None = None
        """The deadline the last request was given."""
        self.skips: list[Attempt] = []
        """The providers the entry edge skipped to start the turn here (`entry.py`)."""
        self._announced = False

    def enter(self, skipped: list[tuple[str, Skipped]]) -> None:
        """Record the providers skipped before this one as the turn's first attempts.

        A failover the thread's own `sticky` record made was announced on an earlier
        turn; one the shared circuits made is announced now, as a failed call would be.
        """
        providers = {spec.node: spec.provider for spec in self.link.plan.settings.chain}
        self.skips = [skip_attempt(node, providers[node], why, run=self.run, turn=self.turn,
                                   step=self.step) for node, why in skipped]  # fmt: skip
        self.earlier = list(self.skips)
        self._announced = all(why.by_thread for _, why in skipped)

    def admit(self, decision: Admission, record: Circuit | None) -> bool:
        """Whether to make the request; if not, the reason is recorded as the failure."""
        # Closed and clean when admitted: a success then changes nothing (a retry's first
        # admission is not re-read here, so it never counts as clean).
        self.clean = decision == "call" and record is None and not self.retry
        run = self.run
        if decision == "skip" and record is not None:
            # The seconds left go into the detail now: the error message shows them later.
            self.failure = failure("circuit_open", open_detail(record, self.now) + NO_REQUEST)
        elif record is not None and stricter(record, run.policy, run.shared, self.now):
            reason = f"circuit open for this run's own policy after {record['reason']}"
            self.failure = failure("circuit_open", reason + NO_REQUEST)
        elif self.key and self.budget_left() <= 0:
            used = f"turn budget of {run.policy.turn_budget:g}s spent"
            self.failure = failure("timeout", used + NO_REQUEST)
        self.requested = self.failure is None
        self.probing = self.probing or (decision == "probe" and self.requested)
        return self.requested

    def budget_left(self) -> float:
        """Seconds this turn may still spend, after the wait about to be made."""
        return self.run.policy.turn_budget - spent(self.earlier) - self.wait

    def deadline(self) -> float | None:
        """How long the call may take: the timeout, or less when the turn budget is low.

        None for the mock: the last resort is never cut short.
        """
        if not self.key:
            return None
        return max(min(self.run.timeout, self.budget_left()), 0.001)

    def limits(self) -> Limits | None:
        """The stream limits of the call (None: none, so the provider is simply invoked).

        The mock has none: the last resort is never cut short.
        """
        spec = self.link.spec
        if not self.key or (spec.first_token_timeout is None and spec.stall_timeout is None):
            return None
        return Limits(first_token=spec.first_token_timeout, stall=spec.stall_timeout)

    def prepare(self) -> tuple[ModelCall, RunnableConfig] | None:
        """The model with this call's options bound, and its trace config; None when done.

        The config is passed to `invoke` rather than bound with `with_config`: the same
        merge with the node's config, without building a binding on every call.
        """
        if self._done or self.model is None:
            return None
        self._done, self._started = True, time.perf_counter()
        spec, number = self.link.spec, len(self.earlier) + 1
        other = self.model_name if self.model_name != spec.model else None
        self.given = self.deadline()
        call = bind_options(self.model, self.context, tools=not self.tools_dropped,
                            timeout=self.given, name=other)  # fmt: skip
        return call, trace_config(spec.provider, self.model_name, spec.node, number,
                                  retry=self.retry, probe=self.probing)  # fmt: skip

    def take(self, outcome: tuple[str, Any]) -> None:
        """Record what the call gave; raise what must not fail over."""
        self.latency += time.perf_counter() - self._started
        kind, value = outcome
        if kind == "ok":
            self.answer = value
            if _empty(value):  # a 200 with nothing in it is as useless as a 500
                self.failure = failure("server_error", "empty answer: no text and no tool calls")
            elif (cut_short := unfinished(self.model, value)) is not None:
                self.failure = failure("server_error", cut_short)  # a cut, though it raised none
            elif self._forced() and not getattr(value, "tool_calls", None):
                # The app demanded a tool call (structured output does): text would break
                # its parser, so the next provider, at worst the mock, must answer.
                self.failure = failure("server_error", "forced tool call not returned")
            else:
                self.truncated = truncation(value, self.messages, self.sent_tokens)
            return
        if isinstance(value, StreamCut):  # our own limit or hedge: its message says which
            self.failure = failure(value.kind, str(value))
            return
        # Masked before it is judged, recorded or raised: upstreams echo keys and URLs.
        masked = mask_error(value, self.link.secrets)
        found = classify(masked)
        meaning = KINDS[found["kind"]] if found else None
        if meaning and meaning.retry == "without_tools" and self._can_drop_tools():
            self.tools_dropped, self._done = True, False  # once more, without the tools
            return
        if found is None or meaning is None or not meaning.fails_over:
            raise keep_status(value)  # unknown errors and bad requests: failing over hides bugs
        if found["kind"] == "context_length" and self.key and (window := stated_window(str(value))):
            WINDOWS.learn(self.key, window)  # later turns are fitted to it
        self.failure, self.transient = found, transient(masked, found)

    def _can_drop_tools(self) -> bool:
        # Once only: a server that still says so without tools has another problem.
        return bool(self.context.tools) and not self.tools_dropped

    def finish(self) -> Attempt:
        """The plain-dict record of this attempt."""
        lost = self.failure
        return {
            "provider": self.link.spec.provider,
            "model": self.model_name,
            "node": self.link.spec.node,
            "ok": lost is None,
            "error": lost["kind"] if lost else None,
            "status_code": lost["status_code"] if lost else None,
            "latency_ms": round(self.latency * 1000, 3),
            "detail": lost["detail"] if lost else None,
            "retry_after": lost["retry_after"] if lost else None,
            "waited_ms": round(self.wait * 1000, 3),
            "backoff": self._backoff(),
            "tools_dropped": self.tools_dropped,
            "trimmed": self.trimmed,
            "truncated": self.truncated,
            "usage": getattr(self.answer, "usage_metadata", None),
            "probe": self.probing,
            "open_until": None,
            "turn": self.turn,
            "step": self.step,
        }

    def _backoff(self) -> float | None:
        """The wait before retrying a transient fault (`routing.should_retry` decides)."""
        lost = self.failure
        if lost is None or not self.transient:  # `errors.transient`: backoff kinds only
            return None
        return backoff(self.turn, self.link.spec.node, self.step)

    def transition(self, attempt: Attempt, *, final: bool = False) -> Transition | None:
        """How the circuit changes (None: no news, e.g. no request or a retry to come).

        `final`: the turn goes on from another provider (a hedge's), so no retry comes.
        """
        if not self.key or not self.requested:
            return None
        if self.failure is not None and not KINDS[self.failure["kind"]].provider_error:
            return None  # our own outcome (a cancelled hedge): no news of the provider
        if not final and should_retry([*self.earlier, attempt], self.run.policy):
            return None  # the verdict waits for the retry (a probe keeps its claim)
        if self.failure is None and self.clean:
            # Success on a closed, clean circuit: skipping the write saves a shared store
            # (Redis) two round trips on every healthy turn.
            return None
        # The graph's own policy, never the run's: a circuit is every caller's.
        policy, now, lost, probing = (
            self.run.shared,
            self.link.clock.now(),
            self.failure,
            self.probing,
        )
        news = lost is None or not self._cut_by_run()

        def apply(record: Circuit | None) -> tuple[Circuit | None, float]:
            if not news:  # releases a probe claim, changes nothing else
                return record, ttl(record, policy, now) if record else 0.0
            if lost is None:
                new = after_success(record, now, probing=probing)
            else:
                new = after_failure(record, lost, policy, now, probing=probing)
            return new, ttl(new, policy, now) if new else 0.0

        return apply

    def _cut_by_run(self) -> bool:
        """Whether a timeout came from this run's tighter limit (or its spent budget).

        That is no news of the provider, which the graph's own timeout might have let answer.
        """
        limit = self.run.shared_timeout
        cut = self.failure is not None and self.failure["kind"] == "timeout"
        return cut and self.given is not None and self.given < limit and self.latency < limit

    def _forced(self) -> bool:
        choice = self.context.tool_choice
        return bool(self.context.tools) and choice not in UNFORCED

    def failover_event(self) -> dict[str, Any] | None:
        """The stream event announcing that this node takes over from a failed one."""
        last = self.earlier[-1] if self.earlier else None
        if last is None or last["ok"] or last["node"] == self.link.spec.node or self._announced:
            return None  # the turn's first attempt, or a retry of the same provider
        return announcement(last["provider"], last["node"], self.link.spec, last["error"])


def announcement(provider: str, node: str, to: ProviderSpec, reason: str | None) -> dict[str, Any]:
    """The stream event announcing that `to`'s node takes over from `node`'s."""
    # Providers by name (`served_by`'s), nodes to tell two of one provider apart.
    return {"type": "failover", "from": provider, "to": to.provider, "reason": reason,
            "from_node": node, "to_node": to.node}  # fmt: skip
