"""Build the failover graph: one node per provider in the chain, routed by state.

    START -(down?)-> openai -> ollama -> mock -> END
                         |         |
                         +---------+--> END as soon as one answers (or back to itself
                                        once, after a short Retry-After)

The entry edge skips providers known to be down (this thread's `sticky` record, an open
circuit: `entry.py`), which the node it starts at records as attempts. After
each provider node a conditional edge reads the recorded outcome and goes to the next
provider, retries the same one once, or ends the turn. A chain without the mock ends in
`all_failed`, which raises `AllProvidersFailed`; the user's message is already in the
checkpoint by then.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph._internal._runnable import RunnableCallable  # as langgraph.prebuilt does
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from langgraph_failover.clock import SYSTEM_CLOCK, Clock
from langgraph_failover.graph.chain import with_clients
from langgraph_failover.graph.context import Context, context_of
from langgraph_failover.graph.entry import Paced, apeeked, first_node, peeked
from langgraph_failover.graph.guarded import guarded
from langgraph_failover.graph.routing import GIVE_UP, after_attempt
from langgraph_failover.graph.run import Plan
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.graph.state import InputState, RouteState, State
from langgraph_failover.health.store import CircuitStore, make_store
from langgraph_failover.nodes import Link, client_for, give_up_node, hedges, node_for, paced

FailoverGraph = CompiledStateGraph[State, Context, InputState, State]


def build_graph(
    *,
    checkpointer: BaseCheckpointSaver[Any] | bool | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    circuit_store: CircuitStore | None = None,
    **overrides: Any,
) -> FailoverGraph:
    """Compile the failover graph.

    Settings come from the environment at call time; keyword `overrides` (see the docs'
    configuration table) take precedence. `models` replaces the client of a node by name
    (e.g. `{"mock": MockChatModel(replies=[...])}`), its circuit then named by the client's
    own URL, model and key (`graph.chain.with_clients`); `clock` and `circuit_store` replace
    the wall clock and the circuit store (by default the process-wide one, or Redis when
    `LLM_FAILOVER_REDIS_URL` is set).

    Args:
        checkpointer: Where threads are saved, as for LangGraph's `compile()`: a saver
            (`open_checkpointer(...)`, `InMemorySaver()`), `None` for none (the LangGraph
            server supplies its own), `True` to use the parent graph's.
        models: Chat models by node name, used instead of the clients the settings build.
        clock: The clock the circuits, waits and budgets read; tests pass a `FakeClock`.
        circuit_store: Where circuits are kept, instead of the one the settings choose.
        **overrides: Settings by keyword, each a variable's name in lower case
            (`provider="groq"`, `fallback_provider="ollama,mock"`, `timeout=20`,
            `groq_api_key=...`).

    Returns:
        The compiled graph: `invoke`/`ainvoke`/`stream`/`astream` it with
        `{"messages": [...]}` and a `thread_id` in its config, as any LangGraph graph. With
        a checkpointer it saves each step before the next (`durability="sync"`) and runs
        one turn per thread at a time.

    Raises:
        ConfigError: A setting, from the environment or a keyword, is malformed or out of
            range; the message names the variable, the value and what it accepts.
        ValueError: `models` names a node the chain does not have.

    """
    settings, clients = load_settings(os.environ, **overrides), dict(models or {})
    nodes = [spec.node for spec in settings.chain]
    unknown = sorted(set(clients) - set(nodes))
    if unknown:
        raise ValueError(f"models given for unknown node(s) {unknown}; the nodes are: {nodes}")
    settings = dataclasses.replace(settings, chain=with_clients(settings.chain, clients))
    plan = Plan(settings)
    store = circuit_store or make_store(settings.redis_url)
    builder = StateGraph(
        State, context_schema=Context, input_schema=InputState, output_schema=State
    )
    links = {spec.node: paced(Link(spec=spec, chain=tuple(nodes), plan=plan, clock=clock,
                                   secrets=settings.secrets),
                              settings, store, injected=spec.node in clients)
             for spec in settings.chain}  # fmt: skip
    pacers = {node: link.pacing for node, link in links.items() if link.pacing is not None}
    links = {node: dataclasses.replace(link, paced=pacers) for node, link in links.items()}
    # Built once and shared: a node's hedge calls the next provider's own client.
    built = {node: clients.get(node) or client_for(links[node], settings) for node in nodes}
    hedged = hedges(links, built)
    for index, spec in enumerate(settings.chain):
        node = node_for(links[spec.node], settings, store, built[spec.node], hedged.get(spec.node))
        builder.add_node(spec.node, node)
        if spec.endpoint.type.last_resort:
            builder.add_edge(spec.node, END)  # the mock cannot fail
        else:
            builder.add_conditional_edges(spec.node, _edge(_router(plan, spec.node)),
                                          _targets(spec.node, nodes[index + 1 :]))  # fmt: skip
    # A run may leave the mock out (context providers), and then end here like a chain
    # built without it.
    builder.add_node(GIVE_UP, give_up_node(plan, clock))

    builder.add_conditional_edges(START, _entry(plan, clock, store, pacers), nodes)
    graph = builder.compile(checkpointer=checkpointer, name="langgraph_failover")
    # Runs checked and one turn per thread at a time, waiting at most for a whole turn.
    # A failed attempt must be on disk before the fallback is called, so that a crash
    # while the backup answers resumes on the backup; callers may still pass durability=.
    saves = checkpointer is True or isinstance(checkpointer, BaseCheckpointSaver)
    return guarded(
        graph,
        turn_wait=settings.policy.turn_budget + settings.timeout,
        check_context=partial(_checked, plan),
        durability="sync" if saves else None,
    )


def _edge(route: Callable[[RouteState, Runtime[Context]], str]) -> RunnableCallable:
    """A router as LangGraph runs it, minus two costs it would add to every turn.

    A plain function becomes a traced run (callbacks on each route) and, for async
    callers, a hop to a thread pool; a router is a pure function of a few dict reads,
    so both shells call it directly, untraced.
    """

    async def aroute(state: RouteState, runtime: Runtime[Context]) -> str:
        return route(state, runtime)

    return RunnableCallable(route, aroute, trace=False)


def _entry(plan: Plan, clock: Clock, store: CircuitStore, paced: Paced) -> RunnableCallable:
    """The entry edge: the run's first provider not known to be down (`entry.first_node`).

    It reads circuits, so its async shell reads them with the store's async method.
    """

    def entry(state: RouteState, runtime: Runtime[Context]) -> str:
        run = plan.resolve(context_of(runtime.context))
        return str(peeked(first_node(state, run, clock.now(), paced), store))

    async def aentry(state: RouteState, runtime: Runtime[Context]) -> str:
        run = plan.resolve(context_of(runtime.context))
        return str(await apeeked(first_node(state, run, clock.now(), paced), store))

    return RunnableCallable(entry, aentry, trace=False)


def _router(plan: Plan, node: str) -> Callable[[RouteState, Runtime[Context]], str]:
    """The edge after a provider: end, retry itself once, or the run's next provider."""

    def route(state: RouteState, runtime: Runtime[Context]) -> str:
        run = plan.resolve(context_of(runtime.context))
        target = after_attempt(state, node=node, run=run)
        return {END: "answered", node: "retry"}.get(target, target)

    route.__name__ = f"after_{node}"
    return route


def _targets(node: str, later: list[str]) -> dict[Hashable, str]:
    """Where a provider's edge may lead; the labels name the edges in Studio's drawing."""
    return {"answered": END, "retry": node, **{n: n for n in later}, GIVE_UP: GIVE_UP}


def _checked(plan: Plan, context: Any) -> Context:
    """The run's context as a `Context`, refused (`ConfigError`) before anything is stored."""
    run_context = context_of(context)
    plan.resolve(run_context)  # cached on the object: the graph's nodes reuse the result
    return run_context
