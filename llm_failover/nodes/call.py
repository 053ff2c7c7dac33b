"""The provider nodes: thin sync and async shells around `attempt.Call`.

Each shell does only I/O in a fixed order: ask the circuit store, wait out a granted
Retry-After, call the model, save the circuit's new record, return the state update. The
two shells differ only in `invoke`/`ainvoke`, `sleep`/`asleep` and the store's `a*`
methods; every decision is made once, in `Call` and the pure functions it calls.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langgraph._internal._runnable import RunnableCallable  # as langgraph.prebuilt does
from langgraph.runtime import Runtime

from llm_failover.errors import AllProvidersFailed
from llm_failover.graph.context import Context, context_of
from llm_failover.graph.state import State
from llm_failover.health.circuit import ttl
from llm_failover.health.store import CircuitStore
from llm_failover.nodes.attempt import Call, Link


def provider_node(link: Link, model: BaseChatModel, store: CircuitStore) -> RunnableCallable:
    """A graph node that asks `model` to answer the conversation in state."""
    key, policy = link.key, link.policy

    def call(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        attempt = Call(link, state, model, context_of(runtime.context))
        if event := attempt.failover_event():
            runtime.stream_writer(event)  # stream_mode="custom"
            dispatch_custom_event("failover", event)  # astream_events: on_custom_event
        if attempt.admit(*store.admit(key, attempt.now, link.claim_for)):
            if attempt.wait:
                link.clock.sleep(attempt.wait)
            while attempt.call is not None:  # twice only when a model refuses tools
                with attempt:
                    attempt.answer = attempt.call.invoke(attempt.messages)
        record, new, changed = attempt.finish()
        if changed:
            store.save(key, new, ttl(new, policy, attempt.now) if new else 0)
        return attempt.update(record)

    async def acall(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        attempt = Call(link, state, model, context_of(runtime.context))
        if event := attempt.failover_event():
            runtime.stream_writer(event)
            await adispatch_custom_event("failover", event)
        if attempt.admit(*await store.aadmit(key, attempt.now, link.claim_for)):
            if attempt.wait:
                await link.clock.asleep(attempt.wait)
            while attempt.call is not None:  # twice only when a model refuses tools
                with attempt:
                    attempt.answer = await attempt.call.ainvoke(attempt.messages)
        record, new, changed = attempt.finish()
        if changed:
            await store.asave(key, new, ttl(new, policy, attempt.now) if new else 0)
        return attempt.update(record)

    return RunnableCallable(call, acall, name=link.spec.node, trace=False)


def unconfigured_node(link: Link, detail: str) -> RunnableCallable:
    """A node for a provider that cannot be called (no API key): records `not_configured`."""

    def record(state: State) -> tuple[dict[str, Any], dict[str, Any] | None]:
        attempt = Call(link, state, None, Context())
        attempt.failure = {"kind": "not_configured", "status_code": None,
                           "retry_after": None, "detail": detail}  # fmt: skip
        return attempt.update(attempt.finish()[0]), attempt.failover_event()

    def call(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        update, event = record(state)
        if event:
            runtime.stream_writer(event)
            dispatch_custom_event("failover", event)
        return update

    async def acall(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        update, event = record(state)
        if event:
            runtime.stream_writer(event)
            await adispatch_custom_event("failover", event)
        return update

    return RunnableCallable(call, acall, name=link.spec.node, trace=False)


def _give_up(state: State) -> dict[str, Any]:
    raise AllProvidersFailed(state.get("attempts", []))


async def _agive_up(state: State) -> dict[str, Any]:
    raise AllProvidersFailed(state.get("attempts", []))


def give_up_node() -> RunnableCallable:
    """The node reached when every provider failed: raises `AllProvidersFailed`."""
    return RunnableCallable(_give_up, _agive_up, name="all_failed", trace=False)
