"""The drop-in's `streaming` and `disable_streaming`, as `ChatOpenAI` has them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel

from langgraph_failover import create_chat_model
from langgraph_failover.testing import OpenAIEmulator, cut
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.usefixtures("app_env")

BACKUP = "[ollama qwen2.5:0.5b] reply to: hello"
USER = {"messages": [("user", "hello")]}


class Route(BaseModel):
    """Which agent answers."""

    agent: str


Node = Callable[[MessagesState], Awaitable[dict[str, Any]]]


def app(*nodes: Node) -> Any:
    """An app's own graph (as the FastAPI service builds it): the nodes one after another."""
    builder = StateGraph(MessagesState)
    previous = START
    for node in nodes:
        builder.add_node(node.__name__, node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    builder.add_edge(previous, END)
    return builder.compile()


async def events(graph: Any) -> list[dict[str, Any]]:
    """The chat-model and custom events `astream_events(version="v2")` shows an app."""
    return [
        event
        async for event in graph.astream_events(USER, version="v2")
        if event["event"].startswith(("on_chat_model", "on_custom_event"))
    ]


@pytest.mark.parametrize("style", ["ainvoke", "invoke", "bind_tools"])
async def test_streaming_false_shows_no_tokens_only_the_answer(
    openai_emu: OpenAIEmulator, style: str
) -> None:
    """streaming=False: no token or failover event from a cut primary, the whole answer."""
    openai_emu.script(cut(after=2))
    model = create_chat_model(temperature=0, streaming=False)

    async def reviewer(state: MessagesState) -> dict[str, Any]:
        if style == "invoke":  # a plain sync call inside the async graph
            return {"messages": [model.invoke(state["messages"])]}
        llm = model.bind_tools([Route]) if style == "bind_tools" else model
        return {"messages": [await llm.ainvoke(state["messages"])]}

    seen = await events(app(reviewer))
    assert [e["event"] for e in seen] == ["on_chat_model_start", "on_chat_model_end"]
    answer = seen[-1]["data"]["output"]
    if style == "bind_tools":  # the Ollama emulator calls an offered tool
        assert [call["name"] for call in answer.tool_calls] == ["Route"]
    else:
        assert answer.content == BACKUP
    assert answer.response_metadata["failover"]["served_by"] == "ollama"


async def test_internal_calls_stay_out_of_the_sse(openai_emu: OpenAIEmulator) -> None:
    """App A: orchestrator and title calls (streaming=False) leak no text; the answer streams."""
    internal = create_chat_model(temperature=0, streaming=False)
    answering = create_chat_model(temperature=0)

    async def orchestrator(state: MessagesState) -> dict[str, Any]:
        route = await internal.with_structured_output(Route).ainvoke(state["messages"])
        assert isinstance(route, Route)
        return {}

    async def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await answering.ainvoke(state["messages"])]}

    async def title(state: MessagesState) -> dict[str, Any]:
        await internal.ainvoke([("user", "A title for: hello")])
        return {}

    seen = await events(app(orchestrator, answer, title))
    tokens = [e["data"]["chunk"].content for e in seen if e["event"] == "on_chat_model_stream"]
    assert "".join(tokens) == "[openai gpt-4o-mini] reply to: hello"
    assert len(tokens) > 1
    assert sum(e["event"] == "on_chat_model_end" for e in seen) == 3
    assert len(openai_emu.requests) == 3


@pytest.mark.parametrize(
    ("disable", "tools", "streams"),
    [(True, False, False), ("tool_calling", True, False), ("tool_calling", False, True)],
)
async def test_disable_streaming_is_honoured(
    disable: bool | str, tools: bool, streams: bool
) -> None:
    """disable_streaming: True never streams; "tool_calling" only when tools are offered."""
    model = create_chat_model(disable_streaming=disable, tools=[Route] if tools else None)

    async def tutor(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    seen = await events(app(tutor))
    assert any(e["event"] == "on_chat_model_stream" for e in seen) is streams
    assert seen[-1]["event"] == "on_chat_model_end"


def test_bound_tools_count_for_tool_calling_too() -> None:
    """disable_streaming="tool_calling" sees tools bound with bind_tools, in stream() too."""
    model = create_chat_model(disable_streaming="tool_calling")
    assert len(list(model.bind_tools([Route]).stream("hello"))) == 1
    assert len(list(model.stream("hello"))) > 1


def openai_model(openai_emu: OpenAIEmulator) -> BaseChatModel:
    """LangChain's own `ChatOpenAI(streaming=False)`, the behaviour to match."""
    return ChatOpenAI(
        model="gpt-4o-mini", api_key=FAKE_KEY, base_url=openai_emu.base_url, streaming=False
    )


@pytest.mark.parametrize("make", [openai_model, lambda _: create_chat_model(streaming=False)])
async def test_explicit_stream_yields_the_whole_answer_once(
    openai_emu: OpenAIEmulator, make: Callable[[OpenAIEmulator], BaseChatModel]
) -> None:
    """stream()/astream() with streaming=False: one chunk, the whole answer, as ChatOpenAI."""
    model = make(openai_emu)
    chunks = list(model.stream("hi"))
    achunks = [chunk async for chunk in model.astream("hi")]
    assert [c.content for c in chunks] == [c.content for c in achunks]
    assert [c.content for c in chunks] == ["[openai gpt-4o-mini] reply to: hi"]


class Tokens(BaseCallbackHandler):
    """Collects the tokens a model reports (not a streaming handler: it asks for none)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        """Keep the token."""
        self.tokens.append(token)


@pytest.mark.parametrize(("streaming", "expected"), [(True, "reply to: hi"), (None, "")])
def test_streaming_true_reports_tokens_on_invoke(streaming: bool | None, expected: str) -> None:
    """streaming=True: invoke reports tokens to any callback, as ChatOpenAI's does."""
    handler = Tokens()
    answer = create_chat_model(streaming=streaming).invoke("hi", {"callbacks": [handler]})
    assert isinstance(answer, AIMessage)
    assert "".join(handler.tokens).endswith(expected)
    assert bool(handler.tokens) is (streaming is True)
