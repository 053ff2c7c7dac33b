"""Where a healthy turn's overhead over LangGraph's floor goes, piece by piece.

The same in-process model (langchain-core's `GenericFakeChatModel`, no network) answers
in every graph, so the differences are graph costs alone, free of loopback noise. Each
sample is the second turn of a fresh thread, as in scenario 1. Each row adds one piece
of our design to the one-node floor:

1. the floor: `MessagesState`, `START -> model -> END`;
2. our `State` (messages plus `served_by`, `degraded`, `attempts`, `sticky`);
3. a conditional entry edge (an untraced router that reads `sticky`): how a failed-over
   thread starts at its backup;
4. a conditional edge after the node (reads `attempts`): how a failure reaches the
   next provider;
5. `durability="sync"`, our default: each step's checkpoint is written before the next
   step starts, which is what lets a crash during the backup's call resume on it;
6. the chain's other nodes (ollama, mock, all_failed) and the edges to them, which a
   healthy turn never reaches;
7. the state contract's records: each attempt with all its fields, and the same facts
   on the answer's `response_metadata["failover"]` (the node still only asks the model);
8. our graph, whose node also decides and keeps the attempt record, asks the circuit
   store, passes the trace metadata and counts the attempt.

Rows 1-6 are LangGraph's price for the structure, row 7 the price of what the contract
asks the state to hold. Row 8 minus row 7 is what our node's logic costs inside the
graph; our node and a plain one are also timed alone, outside any graph, to tell our own
code from LangGraph's handling of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, cast

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph._internal._runnable import RunnableCallable
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Durability

from bench.env import Env, ask, thread_id
from bench.harness import Case, interleaved, stats
from bench.report import Section, Table, ms
from langgraph_failover import build_graph
from langgraph_failover.clock import SYSTEM_CLOCK
from langgraph_failover.graph.routing import GIVE_UP
from langgraph_failover.graph.run import Plan
from langgraph_failover.graph.settings import load_settings
from langgraph_failover.graph.state import RouteState, State
from langgraph_failover.health.store import MemoryStore
from langgraph_failover.nodes import Link, node_for

Graph = Any


def _model() -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=itertools.repeat(AIMessage("hello")))


# One healthy attempt as our node records it (the state contract's fields and ours).
_ATTEMPT: dict[str, Any] = {
    "provider": "openai", "model": "gpt-4o-mini", "node": "openai", "ok": True,
    "error": None, "status_code": None, "latency_ms": 6.123, "detail": None,
    "retry_after": None, "waited_ms": 0.0, "backoff": None, "tools_dropped": False,
    "trimmed": None, "truncated": None, "usage": None,
    "probe": False, "open_until": None, "turn": "lc_run--0123456789abcdef", "step": 1,
}  # fmt: skip


def _answer(
    model: GenericFakeChatModel, state: bool, records: bool = False
) -> Callable[[Any], dict[str, Any]]:
    """A node that only asks the model, writing the keys our node writes when `state`.

    `records`: the attempt as our node records it, and the same facts on the answer's
    `response_metadata["failover"]`, as the state contract asks; else a stub attempt.
    """

    def answer(s: Any) -> dict[str, Any]:
        reply = model.invoke(s["messages"])
        attempt = dict(_ATTEMPT) if records else {"step": 1}
        if records:
            facts = {"served_by": "openai", "degraded": False, "attempts": [attempt]}
            metadata = {**reply.response_metadata, "failover": facts}
            reply = reply.model_copy(update={"response_metadata": metadata})
        out: dict[str, Any] = {"messages": [reply]}
        if state:
            out |= {"served_by": "openai", "degraded": False, "attempts": [attempt],
                    "sticky": None}  # fmt: skip
        return out

    return answer


def _variant(
    *, state: bool, entry: bool, after: bool, chain: bool = False, records: bool = False
) -> Graph:
    schema: Any = State if state else MessagesState
    answer = _answer(_model(), state, records)
    # The chain's other nodes, never reached on a healthy turn, with ours' edges to them.
    others = ["ollama", "mock", GIVE_UP] if chain else []

    def to_model(s: RouteState) -> str:
        return "model"

    def to_end(s: RouteState) -> str:
        return END

    builder = StateGraph(schema)
    for node in ["model", *others]:
        builder.add_node(node, cast(Any, answer))  # its input type is chosen at run time
    for node in others:
        builder.add_edge(node, END)
    if entry:
        builder.add_conditional_edges(START, RunnableCallable(to_model, trace=False),
                                      ["model", *others[:2]])  # fmt: skip
    else:
        builder.add_edge(START, "model")
    if after:
        builder.add_conditional_edges("model", RunnableCallable(to_end, trace=False),
                                      [END, "model", *others])  # fmt: skip
    else:
        builder.add_edge("model", END)
    return builder.compile(checkpointer=InMemorySaver())


def _ours() -> Graph:
    return build_graph(
        checkpointer=InMemorySaver(), models={"openai": _model()}, circuit_store=MemoryStore(),
        openai_api_key="sk-bench", openai_base_url="http://127.0.0.1:9",
        ollama_base_url="http://127.0.0.1:9",
    )  # fmt: skip


# name -> (graph, durability at invoke: None is the graph's own)
ROWS: dict[str, tuple[Callable[[], Graph], Durability | None]] = {
    "1. floor (one node, MessagesState)": (lambda: _variant(state=False, entry=False,
                                                            after=False), None),
    "2. + our State's channels": (lambda: _variant(state=True, entry=False, after=False), None),
    "3. + conditional entry edge": (lambda: _variant(state=True, entry=True, after=False), None),
    "4. + conditional edge after the node": (lambda: _variant(state=True, entry=True,
                                                              after=True), None),
    "5. + durability sync (crash resume)": (lambda: _variant(state=True, entry=True,
                                                             after=True), "sync"),
    "6. + the chain's other nodes, never reached": (lambda: _variant(
        state=True, entry=True, after=True, chain=True), "sync"),
    "7. + the state contract's records": (lambda: _variant(
        state=True, entry=True, after=True, chain=True, records=True), "sync"),
    "8. our graph (sync, its default)": (_ours, None),
}  # fmt: skip


def _case(graph: Graph, durability: Durability | None) -> Case:
    def prepare() -> Callable[[], Any]:
        config: Any = {"configurable": {"thread_id": thread_id()}}
        extra: Any = {"durability": durability} if durability else {}
        graph.invoke({"messages": [ask(0)]}, config, **extra)  # turn 1, untimed
        return lambda: graph.invoke({"messages": [ask(1)]}, config, **extra)

    return prepare


def _node_alone(rounds: int) -> float:
    """Median ms our node adds over one that asks the model and writes the same records.

    No graph and no checkpoint: what is left is the cost of our own code.
    """
    settings = load_settings({}, openai_api_key="sk-bench", openai_base_url="http://127.0.0.1:9")
    plan = Plan(settings)
    link = Link(spec=settings.chain[0], chain=plan.default.route, plan=plan, clock=SYSTEM_CLOCK)
    node: Any = node_for(link, settings, MemoryStore(), _model())
    ours = node.func  # the node's sync function, called directly
    plain = _answer(_model(), True, records=True)
    runtime, config = Runtime(context=None), {"metadata": {"langgraph_step": 1}}
    state = {"messages": [ask(0)]}
    samples = interleaved({
        "ours": lambda: lambda: ours(state, runtime=runtime, config=config),
        "plain": lambda: lambda: plain(state),
    }, rounds * 2)  # fmt: skip
    return stats(samples["ours"]).median - stats(samples["plain"]).median


def run(env: Env) -> Section:
    """Time every row interleaved, with `InMemorySaver` at each graph's own durability."""
    rounds = env.size(2000, 50)
    samples = interleaved({name: _case(make(), d) for name, (make, d) in ROWS.items()}, rounds)
    summary = {name: stats(s) for name, s in samples.items()}
    names = list(ROWS)
    rows = []
    for index, name in enumerate(names):
        s = summary[name]
        step = s.median - summary[names[index - 1]].median if index else 0.0
        rows.append([name, ms(s.median), ms(s.p99), f"{s.median - summary[names[0]].median:+.3f}",
                     f"{step:+.3f}"])  # fmt: skip
    records = summary[names[6]].median - summary[names[5]].median
    ours_own = summary[names[7]].median - summary[names[6]].median
    structure = summary[names[3]].median - summary[names[0]].median
    durable = summary[names[4]].median - summary[names[3]].median
    nodes = summary[names[5]].median - summary[names[4]].median
    alone = _node_alone(rounds)
    table = Table(
        title=f"One turn with an in-process model, {rounds} interleaved rounds (ms)",
        columns=["graph", "median", "p99", "over the floor", "this row's piece"],
        rows=rows,
        notes=["InMemorySaver; rows 1-4 at LangGraph's default durability (`async`). "
               "No network: the model is in-process. Each sample is a thread's second "
               "turn.",
               "Why an edge costs what it does, in LangGraph's source: a conditional edge "
               "from START makes `__start__` a traced two-step sequence (the input's "
               "write, then the branch) instead of a lone channel write "
               "(`pregel/_read.py`, `PregelNode.node`), and every branch reads the state "
               "by copying each of the graph's channels, whatever it selects "
               "(`pregel/_algo.py`, `local_read`)."],
    )  # fmt: skip
    return Section(
        key="anatomy",
        title="Anatomy of the healthy-turn overhead",
        tables=[table],
        findings=[
            f"LangGraph's price for the structure (our channels and two conditional edges): "
            f"{structure:+.3f} ms.",
            f"Writing each step's checkpoint before the next (`sync`, which crash resume "
            f"needs): {durable:+.3f} ms.",
            f"The chain's other nodes (ollama, mock, all_failed), though never reached: "
            f"{nodes:+.3f} ms.",
            f"The state contract's records (each attempt's fields, and the same facts on "
            f'the answer\'s `response_metadata["failover"]`), written and checkpointed: '
            f"{records:+.3f} ms.",
            f"Our node in the graph over a node that only asks the model and writes those "
            f"records: {ours_own:+.3f} ms; the same two nodes called alone, outside any graph: "
            f"{alone:+.3f} ms (our own code: the attempt's decisions, circuit store, "
            f"trace metadata, counters).",
        ],
    )
