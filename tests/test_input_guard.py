"""Bad input is refused before it is stored: the thread stays readable and unchanged.

`check_run` is tested against a table; then the real graph (both checkpointers), the
drop-in model, and large but valid input, against the emulators.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from langgraph_failover import InvalidInput, create_chat_model
from langgraph_failover.graph.guard import MAX_DEPTH, check_run
from langgraph_failover.testing import OpenAIEmulator
from tests.conftest import MakeGraph


def nested(depth: int) -> Any:
    """A content part nested `depth` lists deep."""
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def cyclic() -> list[Any]:
    """A list that contains itself."""
    loop: list[Any] = ["text"]
    loop.append(loop)
    return loop


CALL = {"name": "lookup", "args": {"word": "は"}, "id": "call_1"}
TEXT_AND_IMAGE = [
    {"type": "text", "text": "What is this kanji?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
]
T = {"thread_id": "t"}

# (input, configurable, checkpointed, the refusal's start; None: accepted)
CASES: dict[str, tuple[Any, dict[str, Any], bool, str | None]] = {
    "tuple message": ({"messages": [("user", "hi")]}, T, True, None),
    "a lone string": ({"messages": "hi"}, T, True, None),
    "role dicts": ({"messages": [{"role": "system", "content": "Be brief"},
                                 {"role": "user", "content": "hi"}]}, T, True, None),
    "text and image": ({"messages": [HumanMessage(TEXT_AND_IMAGE)]}, T, True, None),
    "tool call and result": ({"messages": [AIMessage("", tool_calls=[CALL]),
                                           ToolMessage("が", tool_call_id="call_1")]},
                             T, True, None),
    "astral text": ({"messages": [("user", "🙂 ok")]}, T, True, None),
    "nested within bound": ({"messages": [HumanMessage(["hi", {"x": nested(50)}])]},
                            T, True, None),
    "resume": (None, T, True, None),
    "command resume": (Command(resume="yes"), T, True, None),
    "uuid thread": ({"messages": ["hi"]}, {"thread_id": uuid.uuid4()}, True, None),
    "no thread, no checkpointer": ({"messages": ["hi"]}, {}, False, None),
    "not a message": ({"messages": [5]}, T, True, "messages[0]: not a message: Unsupported"),
    "None message": ({"messages": [None]}, T, True, "messages[0]: not a message"),
    "messages None": ({"messages": None}, T, True, "messages: missing"),
    "no messages": ({}, T, True, "messages: missing"),
    "empty messages": ({"messages": []}, T, True, "messages: empty"),
    "unknown role": ({"messages": [("wizard", "hi")]}, T, True,
                     "messages[0]: not a message: Unexpected message type: 'wizard'"),
    "content not text": ({"messages": [{"role": "user", "content": 5}]}, T, True,
                         "messages[0]: not a message: content"),
    "tool without id": ({"messages": [{"role": "tool", "content": "x"}]}, T, True,
                        "messages[0]: not a message: missing key 'tool_call_id'"),
    "empty user text": ({"messages": [("user", "")]}, T, True, "messages[0]: a user message"),
    "blank user text": ({"messages": [("user", " \n")]}, T, True, "messages[0]: a user"),
    "image only": ({"messages": [HumanMessage(TEXT_AND_IMAGE[1:])]}, T, True,
                   "messages[0]: a user message needs text"),
    "surrogate in content": ({"messages": [("user", "hi \ud800")]}, T, True,
                             "messages[0]: unpaired surrogate '\\ud800' at offset 3"),
    "surrogate in a part": ({"messages": [HumanMessage([{"type": "text", "text": "\udfff"}])]},
                            T, True, "messages[0]: unpaired surrogate"),
    "surrogate in a key": ({"messages": [HumanMessage(["hi", {"\ud800": 1}])]}, T, True,
                           "messages[0]: unpaired surrogate"),
    "surrogate in name": ({"messages": [HumanMessage("hi", name="\ud800")]}, T, True,
                          "messages[0]: unpaired surrogate"),
    "surrogate in id": ({"messages": ["hi", HumanMessage("ok", id="m\udc00")]}, T, True,
                        "messages[1]: unpaired surrogate"),
    "surrogate in tool args": ({"messages": [AIMessage("", tool_calls=[
        {**CALL, "args": {"w": "\ud800"}}])]}, T, True, "messages[0]: unpaired surrogate"),
    "nested 5000 deep": ({"messages": [HumanMessage(["hi", {"x": nested(5000)}])]}, T, True,
                         f"messages[0]: nested more than {MAX_DEPTH} levels deep"),
    "cyclic content": ({"messages": [HumanMessage(["hi", {"x": cyclic()}])]}, T, True,
                       "messages[0]: nested more than"),
    "remove message": ({"messages": [RemoveMessage(id="m1")]}, T, True,
                       "messages[0]: a RemoveMessage is not a turn"),
    "input not a dict": ("hi", T, True, "input: expected a dict with 'messages'"),
    "bad command update": (Command(update={"messages": [5]}), T, True,
                           "messages[0]: not a message"),
    "command update pairs": (Command(update=[("messages", [("user", "hi")])]), T, True, None),
    "bad command pairs": (Command(update=[("messages", [5])]), T, True,
                          "messages[0]: not a message"),
    "command sets attempts": (Command(update={"attempts": "junk"}), T, True,
                              "command update: a run may update only 'messages', got 'attempts'"),
    "command sets sticky": (Command(update=[("sticky", 5)]), T, True,
                            "command update: a run may update only 'messages', got 'sticky'"),
    "command update odd": (Command(update=5), T, True,
                           "command update: expected a dict or (key, value) pairs"),
    "thread missing": ({"messages": ["hi"]}, {}, True, "thread_id: missing"),
    "thread None": ({"messages": ["hi"]}, {"thread_id": None}, True, "thread_id: missing"),
    "thread not a string": ({"messages": ["hi"]}, {"thread_id": 5}, True,
                            "thread_id: expected a string, got int"),
    "thread empty": ({"messages": ["hi"]}, {"thread_id": ""}, True, "thread_id: empty"),
    "thread newline": ({"messages": ["hi"]}, {"thread_id": "a\nb"}, True,
                       "thread_id: control character '\\n' at offset 1"),
    "thread NUL": ({"messages": ["hi"]}, {"thread_id": "\x00"}, False, "thread_id: control"),
    "thread C1 control": ({"messages": ["hi"]}, {"thread_id": "a\x85"}, True,
                          "thread_id: control character"),
    "thread surrogate": ({"messages": ["hi"]}, {"thread_id": "u\ud800"}, True,
                         "thread_id: unpaired surrogate"),
}  # fmt: skip


@pytest.mark.parametrize(("given", "configurable", "checkpointed", "refusal"),
                         list(CASES.values()), ids=list(CASES))  # fmt: skip
def test_check_run_table(
    given: Any, configurable: dict[str, Any], checkpointed: bool, refusal: str | None
) -> None:
    """Each input is accepted, or refused with a short message that starts by naming it."""
    run = {"configurable": configurable}
    if refusal is None:
        check_run(given, run, checkpointed=checkpointed)
        return
    with pytest.raises(InvalidInput) as refused:
        check_run(given, run, checkpointed=checkpointed)
    assert str(refused.value).startswith(refusal)
    assert len(str(refused.value)) < 400


REFUSED = [name for name, case in CASES.items() if case[3] and case[1] == T and case[2]]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_input_leaves_the_thread_readable_and_unchanged(
    name: str,
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    checkpointer: BaseCheckpointSaver[Any],
) -> None:
    """After a refusal, get_state works, the history is as it was, and no provider was asked."""
    graph = make_graph(checkpointer=checkpointer)
    config: Any = {"configurable": T}
    graph.invoke({"messages": [("user", "Konnichiwa")]}, config)
    before = graph.get_state(config)
    with pytest.raises(InvalidInput):
        graph.invoke(CASES[name][0], config)
    after = graph.get_state(config)
    assert after.values["messages"] == before.values["messages"]
    assert (after.next, after.tasks, after.config) == (before.next, before.tasks, before.config)
    assert len(openai_emu.requests) == 1


async def test_every_entry_point_refuses(make_graph: MakeGraph, openai_emu: OpenAIEmulator) -> None:
    """stream, astream, ainvoke, batch and astream_events refuse like invoke, unasked."""
    graph = make_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": T}
    bad = {"messages": [5]}
    with pytest.raises(InvalidInput):
        list(graph.stream(bad, config))
    with pytest.raises(InvalidInput):
        [part async for part in graph.astream(bad, config)]
    with pytest.raises(InvalidInput):
        await graph.ainvoke(bad, config)
    with pytest.raises(InvalidInput):
        graph.batch([bad], config)
    with pytest.raises(InvalidInput):
        [event async for event in graph.astream_events(bad, config, version="v2")]
    assert openai_emu.requests == []
    assert (await graph.aget_state(config)).values == {}


@pytest.mark.usefixtures("app_env")
def test_drop_in_model_refuses_the_same_way(openai_emu: OpenAIEmulator) -> None:
    """The drop-in refuses empty or invalid text and a bad thread id, keeping the thread."""
    model = create_chat_model(thread_id="shop")
    model.invoke("Konnichiwa")
    for bad in ["", [HumanMessage("hi \ud800")], [HumanMessage(TEXT_AND_IMAGE[1:])]]:
        with pytest.raises(InvalidInput, match=r"^messages\[0\]"):
            model.invoke(bad)
        with pytest.raises(InvalidInput, match=r"^messages\[0\]"):
            list(model.stream(bad))
    with pytest.raises(InvalidInput, match=r"^messages"):
        create_chat_model().invoke("")  # stateless, too
    with pytest.raises(InvalidInput, match=r"^thread_id: empty"):
        create_chat_model(thread_id="").invoke("hi")
    state = model.graph.get_state({"configurable": {"thread_id": "shop"}})
    assert [m.type for m in state.values["messages"]] == ["human", "ai"]
    assert len(openai_emu.requests) == 1


def test_a_megabyte_message_and_a_megabyte_thread_id_work(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, checkpointer: BaseCheckpointSaver[Any]
) -> None:
    """Large valid input is answered and stored whole (1 MB of text, a 1 MB thread id)."""
    graph = make_graph(checkpointer=checkpointer)
    text = "あ" * 350_000  # 3 bytes each in UTF-8: just over 1 MB
    thread = "t" * 1_048_576
    config: Any = {"configurable": {"thread_id": thread}}
    state = graph.invoke({"messages": [("user", text)]}, config)
    assert state["served_by"] == "openai"
    stored = graph.get_state(config).values["messages"]
    assert [m.type for m in stored] == ["human", "ai"]
    assert stored[0].content == text
    assert openai_emu.requests[0].messages[-1]["content"] == text
