"""The provider nodes: thin sync and async shells that carry out `steps.attempt_steps`.

Every decision is made once, in `attempt_steps`; the two drivers below differ only in
how they do the I/O it asks for (`invoke`/`ainvoke`, `sleep`/`asleep`, the circuit
store's sync or async methods, and the custom event's dispatch).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable  # as langgraph.prebuilt does
from langgraph.runtime import Runtime

from langgraph_failover.clock import Clock
from langgraph_failover.errors import NO_REQUEST, AllProvidersFailed
from langgraph_failover.graph.context import Context, context_of
from langgraph_failover.graph.run import Plan
from langgraph_failover.graph.state import State
from langgraph_failover.health.budgets import BudgetStore
from langgraph_failover.health.store import CircuitStore
from langgraph_failover.metrics import observe_attempt, observe_failover
from langgraph_failover.nodes import background
from langgraph_failover.nodes.attempt import Link, failure
from langgraph_failover.nodes.deadlines import acollect, collect
from langgraph_failover.nodes.hedge import Hedge
from langgraph_failover.nodes.steps import Steps, attempt_steps, entered, state_update
from langgraph_failover.nodes.unreached import last_resort_steps
from langgraph_failover.pacing.capture import watching


def _step(config: RunnableConfig) -> int:
    return int(config.get("metadata", {}).get("langgraph_step", 0))


def run(steps: Steps, link: Link, store: CircuitStore, runtime: Runtime[Any]) -> Any:
    """Carry out an attempt's I/O for a sync caller."""
    result: Any = None
    try:
        while True:
            op = steps.send(result)
            result = None
            if op[0] == "call":
                try:
                    with watching(op[6]):  # the responses' rate-limit headers, for pacing
                        if op[5] is None:
                            result = ("ok", op[1].invoke(op[2], op[4]))
                        else:  # streamed inside, to watch its first token and its silences
                            result = ("ok", collect(op[1], op[2], op[4], op[5], op[3]))
                except Exception as exc:  # judged by the attempt, not here
                    result = ("error", exc)
            elif op[0] == "admit":
                result = store.admit(op[1], op[2], op[3])
            elif op[0] == "peek":
                result = store.peek(op[1], op[2])
            elif op[0] == "budget":
                result = cast(BudgetStore, store).budget(op[1], op[2])
            elif op[0] == "pace":
                result = cast(BudgetStore, store).pace(op[1], op[2], op[3])
            elif op[0] == "update":
                result = store.update(op[1], op[2], op[3])
            elif op[0] == "release":
                store.release(op[1])
            elif op[0] == "sleep":
                link.clock.sleep(op[1])
            elif op[0] == "announce":
                runtime.stream_writer(op[1])  # stream_mode="custom"
                dispatch_custom_event("failover", op[1])  # astream_events
            elif op[0] == "race":  # on async clients, which close a cancelled stream
                background.run(op[1].run(store, runtime.stream_writer))
    except StopIteration as done:
        return done.value


async def arun(steps: Steps, link: Link, store: CircuitStore, runtime: Runtime[Any]) -> Any:
    """Carry out an attempt's I/O for an async caller."""
    result: Any = None
    try:
        while True:
            op = steps.send(result)
            result = None
            if op[0] == "call":
                try:
                    # A real deadline, drips included; the headers go to pacing.
                    async with asyncio.timeout(op[3]), watching(op[6]):
                        if op[5] is None:
                            result = ("ok", await op[1].ainvoke(op[2], op[4]))
                        else:
                            result = ("ok", await acollect(op[1], op[2], op[4], op[5]))
                except Exception as exc:  # judged by the attempt, not here
                    result = ("error", exc)
            elif op[0] == "admit":
                result = await store.aadmit(op[1], op[2], op[3])
            elif op[0] == "peek":
                result = await store.apeek(op[1], op[2])
            elif op[0] == "budget":
                result = await cast(BudgetStore, store).abudget(op[1], op[2])
            elif op[0] == "pace":
                result = await cast(BudgetStore, store).apace(op[1], op[2], op[3])
            elif op[0] == "update":
                result = await store.aupdate(op[1], op[2], op[3])
            elif op[0] == "release":
                await store.arelease(op[1])
            elif op[0] == "sleep":
                await link.clock.asleep(op[1])
            elif op[0] == "announce":
                runtime.stream_writer(op[1])
                await adispatch_custom_event("failover", op[1])
            elif op[0] == "race":
                await op[1].run(store, runtime.stream_writer)
    except StopIteration as done:
        return done.value


def provider_node(
    link: Link, model: BaseChatModel | None, store: CircuitStore, hedge: Hedge | None = None
) -> RunnableCallable:
    """A graph node that asks `model` to answer (None: not configured, never called).

    With a `hedge`, a late first token starts the next provider in parallel (`hedge.py`).
    The last resort's node also says who could not be reached (`unreached.py`).
    """
    attempt = last_resort_steps if link.spec.endpoint.type.last_resort else attempt_steps

    def steps(state: State, runtime: Runtime[Any], config: RunnableConfig) -> Steps:
        context = context_of(runtime.context)
        if model is None:
            return _not_configured(link, state, context, _step(config))
        return attempt(link, state, model, context, _step(config), hedge)

    def call(state: State, runtime: Runtime[Any], config: RunnableConfig) -> dict[str, Any]:
        return dict(run(steps(state, runtime, config), link, store, runtime))

    async def acall(state: State, runtime: Runtime[Any], config: RunnableConfig) -> dict[str, Any]:
        return dict(await arun(steps(state, runtime, config), link, store, runtime))

    return RunnableCallable(call, acall, name=link.spec.node, trace=False)


def _not_configured(link: Link, state: State, context: Context, step: int) -> Steps:
    call = yield from entered(link, state, None, context, step)
    if event := call.failover_event():
        observe_failover(event, call.earlier[-1]["detail"])
        yield ("announce", event)
    missing = link.spec.endpoint.missing or "not configured"
    call.failure = failure("not_configured", f"{link.spec.provider}: {missing}{NO_REQUEST}")
    attempt = call.finish()
    observe_attempt(attempt)
    return state_update(call, attempt)


def give_up_node(plan: Plan, clock: Clock) -> RunnableCallable:
    """The node reached when every provider failed: raises `AllProvidersFailed`.

    Its message names every provider of the turn, those the entry edge skipped too (they
    are attempts, `circuit_open`, with the reason and the seconds left).
    """

    def give_up(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        raise AllProvidersFailed(state.get("attempts", []))

    async def agive_up(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        return give_up(state, runtime)

    return RunnableCallable(give_up, agive_up, name="all_failed", trace=False)
