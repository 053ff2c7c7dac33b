"""Usage after a failover: the answer's is its provider's; failed attempts keep their own."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import HumanMessage

from langgraph_failover import create_chat_model
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, ok, server_error
from tests.conftest import MakeGraph

# A 200 whose text is only blanks: billed by the primary, refused by us as empty.
BLANK = ok(text="   ")


def test_the_graphs_answer_carries_the_backups_usage(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator
) -> None:
    """The primary's refused answer's usage stays in its attempt; the answer has Ollama's."""
    openai_emu.script(BLANK)
    state = make_graph().invoke({"messages": [HumanMessage("how are you there?")]})
    primary, backup = state["attempts"]
    answer = state["messages"][-1]
    assert (primary["error"], backup["node"]) == ("server_error", "ollama")
    assert primary["usage"] is not None and primary["usage"]["input_tokens"] == 4
    assert backup["usage"] == answer.usage_metadata
    assert answer.response_metadata["model_name"] == backup["model"]


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("fault", [BLANK, server_error(501)])
async def test_the_drop_ins_usage_is_the_answers_alone(
    fault: Any, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Streamed or not, the drop-in's usage after a failover is the backup's, never a sum."""
    openai_emu.always(fault)
    model = create_chat_model()
    answer = model.invoke("how are you there?")
    with get_usage_metadata_callback() as streamed:
        chunks = list(model.stream("how are you there?"))
    with get_usage_metadata_callback() as astreamed:
        [c async for c in model.astream("how are you there?")]
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert answer.response_metadata["model_name"] == "qwen2.5:0.5b"
    assert total.usage_metadata is not None and answer.usage_metadata is not None
    assert total.usage_metadata["input_tokens"] == answer.usage_metadata["input_tokens"]
    assert total.usage_metadata["output_tokens"] == answer.usage_metadata["output_tokens"]
    assert streamed.usage_metadata == astreamed.usage_metadata
    assert list(streamed.usage_metadata) == ["qwen2.5:0.5b"]
