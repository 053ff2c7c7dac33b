"""Pacing in the provider node: reserve a place in the upstream's budget, settle after.

Before the request, `Pacing.reserve` asks the store (`("pace", key, now, change)`, the
change being `budget.reserve`) whether the call may go. A budget spent until a reset
that fits the run's retry budget and what is left of the turn budget is waited out (the
wait shows in the attempt's `waited_ms`, and is separate from the turn's one Retry-After
retry); a longer one skips the provider without a request, as `paced`. After the call,
`Pacing.settle` gives the reservation back and records what the responses' rate-limit
headers said (`capture.Seen`), 200s and 429s alike.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Generator
from typing import Any

from langchain_core.messages.utils import count_tokens_approximately

from langgraph_failover.errors import NO_REQUEST
from langgraph_failover.nodes.attempt import Call, failure
from langgraph_failover.pacing.budget import SLACK, Budget, Verdict, reserve, settle
from langgraph_failover.pacing.capture import Seen
from langgraph_failover.pacing.headers import Observed, observed

HOLD_MARGIN = 5.0
"""Seconds a reservation outlives the call's own deadline, for a worker that crashed."""


def estimate(call: Call) -> int:
    """The call's tokens as OpenAI's limiter counts them before the request.

    Its messages' characters / 4, plus `max_tokens` when the client sets it. Without the
    few tokens per message that fitting a window adds (`fit`): the limiter does not
    charge them, and on short prompts they would hold twice what a call costs.
    """
    tokens = count_tokens_approximately(call.messages, extra_tokens_per_message=0)
    model = call.model
    most = getattr(model, "max_tokens", None) or getattr(model, "max_completion_tokens", 0)
    return tokens + (most if isinstance(most, int) else 0)


def _reserve(
    budget: Budget | None, *, ticket: str, tokens: int, now: float, hold: float
) -> tuple[Budget, Verdict]:
    """`budget.reserve` by keyword, for `functools.partial`."""
    return reserve(budget, ticket, tokens, now, hold)


class Pacing:
    """One call's place in its upstream's budget."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.ticket = uuid.uuid4().hex[:16]
        self.tokens = estimate(call)
        self.seen = Seen(call.link.clock.now)
        """Where the client's response hook puts the headers (`capture.watching`)."""

    @staticmethod
    def start(call: Call) -> Pacing | None:
        """The call's pacing; None when its node is not paced (or is the mock)."""
        return Pacing(call) if call.link.pacing is not None and call.key else None

    def _quiet(self) -> bool:
        """Whether the upstream was heard lately without rate-limit headers (unpaced)."""
        memory, call = self.call.link.pacing, self.call
        return memory is not None and memory.quiet(call.key, call.link.clock.now())

    def reserve(self) -> Generator[tuple[Any, ...], Any, bool]:
        """Reserve, waiting for resets that fit; False: skipped as `paced`, no request."""
        call, waited = self.call, 0.0
        if self._quiet():
            return True  # nothing to pace by: no store I/O at all
        hold = (call.deadline() or call.run.timeout) + HOLD_MARGIN
        # A retry whose Retry-After was just waited out was invited back by the upstream:
        # a reset it also stated is not waited for again over a read delay.
        early = SLACK if call.retry and call.wait else 0.0
        while True:
            now = call.link.clock.now()
            change = functools.partial(_reserve, ticket=self.ticket, tokens=self.tokens,
                                       now=now + early, hold=hold)  # fmt: skip
            verdict: Verdict = yield ("pace", call.key, now, change)
            if verdict.action == "go":
                return True
            wait, early = verdict.wait + early, 0.0  # from now, not from the shifted time
            fits = waited + wait <= call.run.policy.retry_budget
            if not fits or wait >= call.budget_left():
                if verdict.action == "cold":
                    return True  # the first call's headers are late: go on knowing nothing
                call.failure = failure("paced", verdict.detail + NO_REQUEST)
                call.requested = call.probing = False
                return False
            yield ("sleep", wait)
            waited += wait
            call.wait += wait  # counted in waited_ms and against the turn budget

    def settle(self) -> Generator[tuple[Any, ...], Any, None]:
        """Give the reservation back and record what the answers said (one store op)."""
        now, ticket, call = self.call.link.clock.now(), self.ticket, self.call
        answers = list(self.seen.answers)
        heard: list[tuple[Observed, float]] = []
        for headers, at in answers:  # a reset counts from when its response came
            if (found := observed(headers, at)) is not None:
                heard.append((found, at))
        quiet = self._quiet()
        if answers and call.link.pacing is not None:
            call.link.pacing.heard(call.key, now, headers=bool(heard))
        if quiet and not heard:
            return  # nothing reserved, nothing new to record

        def change(budget: Budget | None) -> tuple[Budget, None]:
            return settle(budget, ticket, heard, heard=bool(answers), now=now), None

        yield ("pace", call.key, now, change)
