"""The provider node: call one provider and write what happened to state.

One piece of logic (`_Call`) records the attempt, decides whether a raised error is a
failover (via `errors.classify`) and builds the state update; the sync and async node
functions are thin shells around it that differ only in `invoke` vs `ainvoke`.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langgraph._internal._runnable import RunnableCallable  # as langgraph.prebuilt does

from llm_failover.errors import AllProvidersFailed, Failure, classify, fails_over
from llm_failover.graph.settings import ProviderSpec
from llm_failover.graph.state import Attempt, State


class _Call:
    """One attempt at one provider, used as `with call: call.answer = model.invoke(...)`."""

    def __init__(self, spec: ProviderSpec, state: State) -> None:
        self.spec = spec
        self.state = state
        self.messages: list[BaseMessage] = list(state["messages"])
        self.turn = str(self.messages[-1].id) if self.messages else ""
        self.answer: BaseMessage | None = None
        self.failure: Failure | None = None
        self._started = time.perf_counter()

    def __enter__(self) -> _Call:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            return False
        self.failure = classify(exc)
        # Unknown errors and bad requests propagate: failing over would hide a bug.
        return self.failure is not None and fails_over(self.failure["kind"])

    def update(self) -> dict[str, Any]:
        """The state update for this attempt: the answer, or only the failed attempt."""
        failure = self.failure
        attempt: Attempt = {
            "provider": self.spec.provider,
            "model": self.spec.model,
            "node": self.spec.node,
            "ok": failure is None,
            "error": failure["kind"] if failure else None,
            "status_code": failure["status_code"] if failure else None,
            "latency_ms": round((time.perf_counter() - self._started) * 1000, 3),
            "detail": failure["detail"] if failure else None,
            "turn": self.turn,
        }
        if failure is not None or self.answer is None:
            return {"attempts": [attempt]}
        degraded = self.spec.provider == "mock"
        facts = {
            "served_by": self.spec.provider,
            "degraded": degraded,
            "attempts": [*this_turn(self.state, self.turn), attempt],
        }
        answer = self.answer.model_copy(
            update={"response_metadata": {**self.answer.response_metadata, "failover": facts}}
        )
        return {"messages": [answer], "attempts": [attempt],
                "served_by": self.spec.provider, "degraded": degraded}  # fmt: skip


def this_turn(state: State, turn: str) -> list[Attempt]:
    """The attempts already made for the message `turn` (earlier turns' are dropped)."""
    return [a for a in state.get("attempts", []) if a["turn"] == turn]


def provider_node(spec: ProviderSpec, model: BaseChatModel) -> RunnableCallable:
    """A graph node that asks `model` to answer the conversation in state."""

    def call(state: State) -> dict[str, Any]:
        attempt = _Call(spec, state)
        with attempt:
            attempt.answer = model.invoke(attempt.messages)
        return attempt.update()

    async def acall(state: State) -> dict[str, Any]:
        attempt = _Call(spec, state)
        with attempt:
            attempt.answer = await model.ainvoke(attempt.messages)
        return attempt.update()

    return RunnableCallable(call, acall, name=spec.node, trace=False)


def unconfigured_node(spec: ProviderSpec, detail: str) -> RunnableCallable:
    """A node for a provider that cannot be called (no API key): records `not_configured`."""

    def call(state: State) -> dict[str, Any]:
        attempt = _Call(spec, state)
        attempt.failure = {"kind": "not_configured", "status_code": None,
                           "retry_after": None, "detail": detail}  # fmt: skip
        return attempt.update()

    async def acall(state: State) -> dict[str, Any]:
        return call(state)

    return RunnableCallable(call, acall, name=spec.node, trace=False)


def _give_up(state: State) -> dict[str, Any]:
    raise AllProvidersFailed(state.get("attempts", []))


async def _agive_up(state: State) -> dict[str, Any]:
    raise AllProvidersFailed(state.get("attempts", []))


def give_up_node() -> RunnableCallable:
    """The node reached when every provider failed: raises `AllProvidersFailed`."""
    return RunnableCallable(_give_up, _agive_up, name="all_failed", trace=False)
