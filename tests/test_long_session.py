"""Long sessions: the app's nine-turn test, and fitting history into a small window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_failover import create_chat_model
from langgraph_failover.checkpoint import open_sqlite
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok, quota
from tests.conftest import MakeGraph

TURNS = [
    "Hi! My name is Aiko and my weak point is particles.",
    "How do I say 'I eat sushi'?",
    "Why を and not が there?",
    "Give me another example with を.",
    "Do you remember my name and my weak point?",
    "Quiz me on は vs が.",
    "私は学生です — is that right?",
    "What about 私が学生です?",
    "Thanks, that's all for today.",
]


@pytest.mark.usefixtures("app_env")
def test_nine_turn_session_survives_quota_from_turn_four(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tmp_path: Path
) -> None:
    """The tutor's nine turns, quota from turn 4: all answered, turn 1 remembered at 5."""
    saver = open_sqlite(tmp_path / "tutor.sqlite")
    model = create_chat_model(temperature=0.7, thread_id="aiko-long", checkpointer=saver)
    history: list[Any] = [SystemMessage("You are a patient Japanese tutor.")]
    served: list[str] = []
    for number, text in enumerate(TURNS, start=1):
        openai_emu.always(quota() if number >= 4 else ok())
        history.append(HumanMessage(text))
        answer = model.invoke(history)
        assert answer.content, f"turn {number} went unanswered"
        served.append(answer.response_metadata["failover"]["served_by"])
        history.append(AIMessage(str(answer.content)))
        if number == 5:
            sent = " ".join(m["content"] for m in ollama_emu.requests[-1].messages)
            assert "Aiko" in sent and "particles" in sent
    assert served == ["openai"] * 3 + ["ollama"] * 6
    assert len(openai_emu.requests) == 4  # turn 4's quota opened the circuit: no more
    stored = saver.get_tuple({"configurable": {"thread_id": "aiko-long"}})
    assert stored is not None
    kept = stored.checkpoint["channel_values"]["messages"]
    assert [(m.type, m.content) for m in kept] == [(m.type, m.content) for m in history]


def test_history_is_fitted_to_the_backup_window(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """A small Ollama window: system and newest turns sent, all kept, the trim recorded."""
    saver = InMemorySaver()
    graph = make_graph(checkpointer=saver, context_tokens="ollama=600")
    config: Any = {"configurable": {"thread_id": "window"}}
    graph.invoke({"messages": [SystemMessage("You are a tutor."), HumanMessage("start")]}, config)
    for number in range(12):
        graph.invoke({"messages": [HumanMessage(f"turn {number}: " + "word " * 60)]}, config)
    openai_emu.script(quota())
    state = graph.invoke({"messages": [HumanMessage("the newest question")]}, config)
    sent = ollama_emu.requests[-1]
    assert sent.messages[0] == {"role": "system", "content": "You are a tutor."}
    assert sent.messages[-1]["content"] == "the newest question"
    assert sent.messages[1]["role"] == "user"  # never opens on a cut-off answer
    assert len(sent.messages) < len(state["messages"]) - 1
    assert sent.body["options"]["num_ctx"] == 600
    trimmed = state["attempts"][-1]["trimmed"]
    assert trimmed["limit"] == 600 and trimmed["sent_tokens"] <= 600
    assert trimmed["dropped"] == len(state["messages"]) - 1 - len(sent.messages)
    assert len(state["messages"]) == 3 + 2 * 12 + 2  # everything kept
    assert state["attempts"][0]["trimmed"] is None  # OpenAI has no configured limit
