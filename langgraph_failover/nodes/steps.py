"""The provider node's procedure, written once, free of I/O.

`attempt_steps` is a generator that yields each piece of I/O it needs as a small tuple
("peek", "announce", "admit", "sleep", "pace", "call", "race", "update", "release"; the
store ones name the run's circuit key, a call its deadline, stream limits and the holder
of its rate-limit headers) and receives the result.
The sync and async shells in `call.py` carry those out with `invoke` or `ainvoke`,
`sleep` or `asleep`, the store's sync or async methods: that is their only difference.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from langgraph_failover.graph.context import Context
from langgraph_failover.graph.entry import holds, skipped_before
from langgraph_failover.graph.state import Attempt, Skip, State, Sticky
from langgraph_failover.health.circuit import Admission, Circuit
from langgraph_failover.health.store import Transition
from langgraph_failover.metrics import observe_attempt, observe_circuit, observe_failover
from langgraph_failover.nodes.attempt import Call, Link
from langgraph_failover.nodes.pacing import Pacing

if TYPE_CHECKING:
    from langgraph_failover.nodes.hedge import Hedge
    from langgraph_failover.nodes.race import Race

Op = tuple[Any, ...]
Steps = Generator[Op, Any, dict[str, Any]]


def attempt_steps(
    link: Link,
    state: State,
    model: BaseChatModel | None,
    context: Context,
    step: int,
    hedge: Hedge | None = None,
) -> Steps:
    """One attempt, from the failover announcement to the state update.

    With a `hedge`, the call is a race ("race": the shell runs it, `nodes/hedge.py`).
    """
    call = yield from entered(link, state, model, context, step)
    if event := call.failover_event():
        observe_failover(event, call.earlier[-1]["detail"])
        yield ("announce", event)
    admitted: tuple[Admission, Circuit | None] = ("call", None)
    race: Race | None = None
    if call.key and not call.retry:  # a granted retry was admitted with its first call
        # How long a probe may take: the graph's limits, whatever this run's are.
        claim = call.run.shared_timeout + call.run.shared.retry_budget
        admitted = yield ("admit", call.key, call.now, claim)
    pacing = Pacing.start(call)
    if call.admit(*admitted):
        try:
            if call.wait:
                yield ("sleep", call.wait)
            if pacing is None or (yield from pacing.reserve()):
                seen = pacing.seen if pacing else None  # the call's rate-limit headers
                if hedge is not None and (race := hedge.race(call)) is not None:
                    # Both calls made and taken when it returns; their headers are not
                    # read (two upstreams in one holder): the reservation is settled.
                    yield ("race", race)
                    race.check()  # raises what must not fail over
                while (prepared := call.prepare()) is not None:
                    runnable, config = prepared
                    call.take((yield ("call", runnable, call.messages, call.deadline(),
                                      config, call.limits(), seen)))  # fmt: skip
                if pacing is not None:
                    yield from pacing.settle()
        except Exception:  # not GeneratorExit or cancellation: the claim's TTL covers those
            if pacing is not None:
                yield from pacing.settle()
            if call.probing:
                yield ("release", call.key)  # a raised error says nothing about health
            raise
        if admitted[0] == "probe" and not call.requested:
            yield ("release", call.key)  # claimed, then paced
    elif admitted[0] == "probe":
        yield ("release", call.key)  # claimed, then declined (this run's policy or budget)
    attempt = call.finish()
    if race is not None and race.backup is not None:
        return (yield from hedged_outcome(race, attempt))
    if (transition := call.transition(attempt)) is not None:
        yield from circuit_update(call, attempt, transition)
    elif not call.requested and admitted[1] is not None:
        attempt["open_until"] = admitted[1]["open_until"]
    observe_attempt(attempt)
    return state_update(call, attempt)


def hedged_outcome(race: Race, attempt: Attempt) -> Steps:
    """A hedged call's two attempts: circuits, counters, and the state update with both.

    The one the turn goes on from comes last (`Race.ordered`).
    """
    primary, (first, last) = race.primary.call, race.ordered()
    backup = first if last is primary else last
    records = {primary: attempt, backup: backup.finish()}
    last.earlier = [*first.earlier, records[first]]  # the record the router reads
    for one, final in ((first, True), (last, False)):
        record = records[one]
        if (transition := one.transition(record, final=final)) is not None:
            yield from circuit_update(one, record, transition)
        elif one.probing and record["error"] == "hedged":
            yield ("release", one.key)  # cancelled, so not judged: another call may probe
        observe_attempt(record)
    attempts = [*primary.skips, records[first], records[last]]  # the entry's skips first
    return {**state_update(last, records[last]), "attempts": attempts}


def entered(
    link: Link, state: State, model: BaseChatModel | None, context: Context, step: int
) -> Generator[Op, Any, Call]:
    """The attempt, with the providers the entry edge skipped if the turn starts here."""
    call = Call(link, state, model, context, step)
    if not call.earlier and link.spec.node != call.run.route[0]:
        skipped = skipped_before(link.spec.node, state, call.run, call.now, link.paced)
        call.enter((yield from skipped))
        for skip in call.skips:
            observe_attempt(skip)
    return call


def circuit_update(
    call: Call, attempt: Attempt, transition: Transition
) -> Generator[Op, Any, None]:
    """Apply the attempt's news to its circuit; log it if the circuit opened or closed.

    The store applies the transition to the record it holds, atomically; the record it
    was given is caught on the way, so that the old and new records are the store's own,
    not what this node read before its call (another worker may have written since).
    """
    seen: list[Circuit | None] = []

    def observed(old: Circuit | None) -> tuple[Circuit | None, float]:
        seen[:] = [old]  # a store may apply it more than once (Redis WATCH): keep the last
        return transition(old)

    now = call.link.clock.now()
    record: Circuit | None = yield ("update", call.key, now, observed)
    attempt["open_until"] = record["open_until"] if record else None
    observe_circuit(attempt, seen[0] if seen else None, record, now)


def state_update(call: Call, attempt: Attempt) -> dict[str, Any]:
    """The failed attempt alone, or the answer with its facts and the thread's routing."""
    if call.failure is not None or call.answer is None:
        return {"attempts": [*call.skips, attempt]}
    spec = call.link.spec
    degraded = spec.endpoint.type.last_resort
    facts = {"served_by": spec.provider, "degraded": degraded,
             "attempts": [*call.earlier, attempt]}  # fmt: skip
    answer = call.answer.model_copy(
        update={"response_metadata": {**call.answer.response_metadata, "failover": facts}}
    )
    update = {"messages": [answer], "attempts": [*call.skips, attempt], "served_by": spec.provider,
              "degraded": degraded, "sticky": sticky(call, attempt)}  # fmt: skip
    # A key that keeps its value is not written: most turns of a conversation change
    # none of the three, and an unwritten channel is one blob fewer in every checkpoint
    # (a row fewer in SQLite or PostgreSQL).
    old: dict[str, Any] = {**call.state}
    return {k: v for k, v in update.items() if k not in _KEPT or k not in old or old[k] != v}


_KEPT = frozenset({"served_by", "degraded", "sticky"})


def sticky(call: Call, attempt: Attempt) -> Sticky | None:
    """Remember, in the thread, which providers to skip while their circuits are open.

    Each entry carries the circuit key it was learned for, so a node whose upstream has
    changed since (a new API key, another URL) is not skipped for the old one's failure.
    """
    link, now, keys = call.link, call.now, call.run.keys
    old = call.state.get("sticky")
    skip: dict[str, Skip] = {
        node: entry
        for node, entry in (old["skip"] if old else {}).items()
        if holds(entry, keys.get(node), now)
    }
    for failed in call.earlier:
        until = failed["open_until"]
        # A skip the thread's record made keeps that record's reason (the first cause).
        kept = failed["error"] == "circuit_open" and failed["node"] in skip
        if until is not None and until > now and not kept:
            skip[failed["node"]] = {"until": until, "reason": failed["error"] or "",
                                    "key": keys[failed["node"]]}  # fmt: skip
    skip.pop(attempt["node"], None)
    if attempt["node"] == link.chain[0] or not skip:
        return None
    first = next(node for node in link.chain if node in skip)
    reason, until = skip[first]["reason"], skip[first]["until"]
    return {"node": attempt["node"], "provider": attempt["provider"], "reason": reason,
            "until": until, "skip": skip}  # fmt: skip
