"""The drop-in chat model, used the way the two apps use their model factories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel

from langgraph_failover import FailoverChatModel, MockChatModel, create_chat_model
from langgraph_failover.checkpoint import open_sqlite
from langgraph_failover.testing import (
    OllamaEmulator,
    OpenAIEmulator,
    bad_request,
    busy,
    cut,
    ok,
    quota,
)
from tests.conftest import failover


class Verdict(BaseModel):
    """Grade the learner's sentence."""

    correct: bool
    note: str


CALL = {"name": "Verdict", "args": {"correct": True, "note": "good"}, "id": "call_9"}


pytestmark = pytest.mark.usefixtures("app_env")


def served(message: Any) -> str:
    """Who answered, from the message itself."""
    return str(message.response_metadata["failover"]["served_by"])


async def test_invoke_ainvoke_batch_and_lcel(openai_emu: OpenAIEmulator) -> None:
    """Every way an app calls a chat model answers, with the failover facts attached."""
    model = create_chat_model(temperature=0)
    assert isinstance(model, FailoverChatModel)
    assert model.invoke("hi").content == "[openai gpt-4o-mini] reply to: hi"
    assert (await model.ainvoke("hey")).content.endswith("reply to: hey")
    assert [m.content[-1] for m in model.batch(["a", "b"])] == ["a", "b"]
    assert [m.content[-1] for m in await model.abatch(["c", "d"])] == ["c", "d"]
    chain = ChatPromptTemplate.from_messages([("user", "Translate {w}")]) | model
    answer = chain.invoke({"w": "neko"})
    assert answer.content.endswith("Translate neko") and served(answer) == "openai"
    assert openai_emu.requests[0].body["temperature"] == 0


def test_factory_builds_the_graph_once() -> None:
    """Apps call the factory per request: the graph and its clients are shared."""
    assert create_chat_model(0.7).graph is create_chat_model(0.3).graph


async def test_quota_fails_over_for_every_call_style(openai_emu: OpenAIEmulator) -> None:
    """Out of quota: invoke and ainvoke are answered by Ollama and say so."""
    openai_emu.always(quota())
    model = create_chat_model()
    assert served(model.invoke("x")) == "ollama"
    assert served(await model.ainvoke("y")) == "ollama"


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_streams_tokens_and_marks_the_failover(openai_emu: OpenAIEmulator, mode: str) -> None:
    """Cut primary: partial tokens, a flagged chunk, the backup's tokens, facts on the sum."""
    openai_emu.script(cut(after=2))
    model = create_chat_model()
    if mode == "stream":
        chunks = list(model.stream("tell me"))
    else:
        chunks = [c async for c in model.astream("tell me")]
    assert all(isinstance(c.content, str) for c in chunks)
    flagged = [i for i, c in enumerate(chunks) if "failover_events" in c.response_metadata]
    (at,) = flagged
    assert chunks[at].response_metadata["failover_events"] == [
        failover("openai", "ollama", "connection")
    ]
    after = "".join(str(c.content) for c in chunks[at:])
    assert after == "[ollama qwen2.5:0.5b] reply to: tell me"
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.response_metadata["failover"]["served_by"] == "ollama"
    # langchain-core ends the stream with its own empty chunk, after the one with the facts
    assert "failover" not in chunks[-1].response_metadata


def test_invoke_never_returns_a_partial_answer(openai_emu: OpenAIEmulator) -> None:
    """Even under a streaming caller, invoke's message is the backup's whole answer."""
    openai_emu.script(cut(after=2))
    model = create_chat_model()
    app = StateGraph(MessagesState)
    app.add_node("tutor", lambda state: {"messages": [model.invoke(state["messages"])]})
    app.add_edge(START, "tutor")
    app.add_edge("tutor", END)
    tokens = []
    for chunk, _ in app.compile().stream({"messages": [("user", "hello")]}, stream_mode="messages"):
        tokens.append(chunk)
    final = [t for t in tokens if isinstance(t, AIMessage) and t.content]
    assert final[-1].content == "[ollama qwen2.5:0.5b] reply to: hello"


async def test_astream_events_in_an_app_graph_counts_tokens_once(
    openai_emu: OpenAIEmulator,
) -> None:
    """App A's pattern (ainvoke in its graph, astream_events): each token once, signal."""
    openai_emu.script(cut(after=2))
    model = create_chat_model()

    async def tutor(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    app = StateGraph(MessagesState)
    app.add_node("tutor", tutor)
    app.add_edge(START, "tutor")
    app.add_edge("tutor", END)
    seen: list[str] = []
    async for event in app.compile().astream_events(
        {"messages": [("user", "hello")]}, version="v2"
    ):
        if event["event"] == "on_chat_model_stream":
            seen.append(str(event["data"]["chunk"].content))
        elif event["event"] == "on_custom_event" and event["name"] == "failover":
            seen.append("<failover>")
    at = seen.index("<failover>")
    assert "".join(seen[at + 1 :]) == "[ollama qwen2.5:0.5b] reply to: hello"
    assert "".join(seen[:at]) == "[openai gpt-4o-mini] "


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_bound_tools_reach_every_provider_unchanged(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, mode: str
) -> None:
    """bind_tools: the tools go to OpenAI and, after a failover, to Ollama; calls unchanged."""
    model = create_chat_model().bind_tools([Verdict])

    async def ask(text: str) -> Any:
        return model.invoke(text) if mode == "invoke" else await model.ainvoke(text)

    openai_emu.script(ok(tool_calls=[CALL]))
    assert (await ask("grade")).tool_calls == [{**CALL, "type": "tool_call"}]
    openai_emu.script(quota())
    ollama_emu.script(ok(tool_calls=[CALL]))
    (call,) = (await ask("grade again")).tool_calls
    assert (call["name"], call["args"]) == ("Verdict", CALL["args"])
    assert ollama_emu.requests[-1].body["tools"][0]["function"]["name"] == "Verdict"


def test_factory_tools_and_tools_dropped(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Factory tools are bound; a model without tool support is asked again without."""
    model = create_chat_model(0.7, tools=[Verdict])
    openai_emu.script(quota())
    ollama_emu.script(bad_request('"qwen2.5:0.5b" does not support tools'))
    answer = model.invoke("grade")
    attempts = answer.response_metadata["failover"]["attempts"]
    assert attempts[-1]["tools_dropped"] is True
    assert served(answer) == "ollama"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize("tier", ["openai", "ollama", "mock"])
async def test_structured_output_on_every_provider(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tier: str, mode: str
) -> None:
    """with_structured_output returns a valid instance whoever answers, sync and async."""
    if tier == "openai":
        openai_emu.script(ok(tool_calls=[CALL]))
    else:
        openai_emu.script(quota())
        ollama_emu.script(ok(tool_calls=[CALL]) if tier == "ollama" else busy())
    structured = create_chat_model().with_structured_output(Verdict)
    if mode == "invoke":
        result = structured.invoke("grade")
    else:
        result = await structured.ainvoke("grade")
    assert isinstance(result, Verdict)
    if tier != "mock":
        assert result == Verdict(correct=True, note="good")


def test_whole_history_to_a_checkpointed_thread_is_not_duplicated(tmp_path: Path) -> None:
    """An app that re-sends the whole history each call gets no duplicated messages."""
    saver = open_sqlite(tmp_path / "t.sqlite")
    model = create_chat_model(thread_id="aiko", checkpointer=saver)
    history: list[Any] = [SystemMessage("You are a Japanese tutor.")]
    for text in ("I'm Aiko", "What is は?", "And が?"):
        history.append(HumanMessage(text))
        answer = model.invoke(history)
        history.append(AIMessage(str(answer.content)))  # rebuilt, as apps store text
    stored = saver.get_tuple({"configurable": {"thread_id": "aiko"}})
    assert stored is not None
    messages = stored.checkpoint["channel_values"]["messages"]
    assert [(m.type, m.content) for m in messages] == [(m.type, m.content) for m in history]
    # and the "new message only" style works on the same thread
    model.invoke([HumanMessage("Thanks!")])
    stored = saver.get_tuple({"configurable": {"thread_id": "aiko"}})
    assert stored is not None
    assert len(stored.checkpoint["channel_values"]["messages"]) == len(history) + 2


async def test_thread_works_async_with_the_sqlite_default(tmp_path: Path) -> None:
    """A FastAPI app's ainvoke on a thread uses the same SQLite default as Flask's invoke."""
    model = create_chat_model(thread_id="async-thread")
    await model.ainvoke("first")
    model.invoke("second")
    answer = await model.ainvoke("third")
    assert answer.content.endswith("third")
    saver = open_sqlite(tmp_path / "threads.sqlite")
    stored = saver.get_tuple({"configurable": {"thread_id": "async-thread"}})
    assert stored is not None
    assert len(stored.checkpoint["channel_values"]["messages"]) == 6


def test_invoke_then_stream_the_same_messages_on_a_thread(tmp_path: Path) -> None:
    """App B's pattern on a thread: the second call re-answers; one answer is kept."""
    saver = open_sqlite(tmp_path / "b.sqlite")
    model = create_chat_model(thread_id="b", checkpointer=saver)
    messages = [SystemMessage("tutor"), HumanMessage("What is は?")]
    model.invoke(list(messages))
    streamed = "".join(str(c.content) for c in model.stream(list(messages)))
    assert streamed.endswith("What is は?")
    stored = saver.get_tuple({"configurable": {"thread_id": "b"}})
    assert stored is not None
    assert [m.type for m in stored.checkpoint["channel_values"]["messages"]] == [
        "system",
        "human",
        "ai",
    ]


def test_factory_does_not_share_graphs_built_from_objects() -> None:
    """Two scripted mocks are two graphs; plain settings still share one."""
    one = create_chat_model(provider="mock", models={"mock": MockChatModel(replies=["A"])})
    two = create_chat_model(provider="mock", models={"mock": MockChatModel(replies=["B"])})
    assert (one.invoke("x").content, two.invoke("x").content) == ("A", "B")
    assert create_chat_model(timeout=3).graph is create_chat_model(timeout=3).graph
