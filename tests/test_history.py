"""The messages reducer: what a caller sends again is not added twice."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langgraph_failover.graph.history import merge_messages

S, S2 = SystemMessage("tutor", id="s"), SystemMessage("tutor; summary: likes cats")
H1, A1 = HumanMessage("I'm Aiko", id="h1"), AIMessage("Hi Aiko", id="a1")
H2, A2 = HumanMessage("What is は?", id="h2"), AIMessage("A topic marker", id="a2")
THREAD = [S, H1, A1, H2, A2]


def rebuilt(*messages: Any) -> list[Any]:
    """The same messages as an app rebuilds them from its own store: no ids."""
    return [type(m)(m.content) for m in messages]


def shape(messages: list[Any]) -> list[tuple[str, str]]:
    """Role and text of each message."""
    return [(m.type, m.text) for m in messages]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (rebuilt(HumanMessage("And が?")), [*THREAD, HumanMessage("And が?")]),
        (rebuilt(*THREAD, HumanMessage("And が?")), [*THREAD, HumanMessage("And が?")]),
        (rebuilt(H2, A2, HumanMessage("And が?")), [*THREAD, HumanMessage("And が?")]),
        (
            [S2, *rebuilt(H2, A2), HumanMessage("And が?")],
            [S2, H1, A1, H2, A2, HumanMessage("And が?")],
        ),
        (rebuilt(S, H1, A1, H2), [S, H1, A1, H2]),  # invoke, then stream the same
        (rebuilt(H1), [*THREAD, H1]),  # the same words in a new turn
        ([*THREAD, HumanMessage("And が?")], [*THREAD, HumanMessage("And が?")]),  # our ids
    ],
    ids=["new-only", "whole-history", "recent-window", "new-summary", "asked-again",
         "repeated-words", "own-ids"],
)  # fmt: skip
def test_merge(sent: list[Any], expected: list[Any]) -> None:
    """Each way an app sends its messages leaves the thread without duplicates."""
    assert shape(merge_messages(list(THREAD), sent)) == shape(expected)


def test_failed_turn_sent_again_is_answered_once() -> None:
    """A question left unanswered (all providers down), sent again: not added twice."""
    thread = [S, H1]
    assert shape(merge_messages(thread, rebuilt(H1))) == shape([S, H1])
    assert shape(merge_messages(thread, rebuilt(S, H1))) == shape([S, H1])
