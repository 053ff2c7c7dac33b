"""Context fitting: what a provider with a small window is sent (`nodes/fit.py`)."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

from langgraph_failover.nodes.fit import fit


def test_fit_keeps_the_question_with_its_tool_result() -> None:
    """A huge tool result: the question and the result go together, never the result alone."""
    messages = [
        SystemMessage("tutor"),
        HumanMessage("old " * 50),
        HumanMessage("look it up"),
        ToolMessage("result " * 2000, tool_call_id="c1"),
    ]
    kept, trimmed, _ = fit(messages, 600)
    assert [m.type for m in kept] == ["system", "human", "tool"]
    assert kept[1].content == "look it up"
    assert trimmed is not None and trimmed["dropped"] == 1
