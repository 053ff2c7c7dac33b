"""The drop-in's run as an app's callbacks and tracers see it: once, and named truly."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler, get_usage_metadata_callback
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run
from pydantic import BaseModel

from langgraph_failover import create_chat_model
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, busy, quota

pytestmark = pytest.mark.usefixtures("app_env")


class Starts(BaseCallbackHandler):
    """Counts the chat-model runs that start."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        """Record the run's name."""
        self.names.append(str(kwargs.get("name") or serialized.get("name")))


class Tracer(BaseTracer):
    """Keeps the finished runs, as LangSmith's tracer would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.runs.append(run)


class Verdict(BaseModel):
    """Grade the learner's sentence."""

    correct: bool
    note: str


def down_to(tier: str, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator) -> None:
    """Make `tier` the first provider that answers."""
    if tier != "openai":
        openai_emu.always(quota())
    if tier == "mock":
        ollama_emu.always(busy())


@pytest.mark.parametrize("tier", ["openai", "ollama", "mock"])
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_one_chat_model_run_per_call(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tier: str, mode: str
) -> None:
    """The providers' own runs stay inside: the caller's handlers see ours alone.

    Called in a chain, as apps do: a chain's step hands its callbacks down to whatever
    runs inside it, so this is where the providers' runs could leak out.
    """
    down_to(tier, openai_emu, ollama_emu)
    starts = Starts()
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | create_chat_model()
    config: RunnableConfig = {"callbacks": [starts]}
    if mode == "invoke":
        chain.invoke({"q": "hi"}, config)
    elif mode == "ainvoke":
        await chain.ainvoke({"q": "hi"}, config)
    elif mode == "stream":
        list(chain.stream({"q": "hi"}, config))
    else:
        [c async for c in chain.astream({"q": "hi"}, config)]
    assert starts.names == ["FailoverChatModel"]


@pytest.mark.parametrize("tier", ["openai", "ollama", "mock"])
def test_usage_is_counted_once(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tier: str
) -> None:
    """LangChain's usage callback adds up what the answer says, once, under its model."""
    down_to(tier, openai_emu, ollama_emu)
    model = create_chat_model()
    with get_usage_metadata_callback() as usage:
        answer = model.invoke("how are you?")
    with get_usage_metadata_callback() as streamed:
        list(model.stream("how are you?"))
    name = answer.response_metadata["model_name"]
    assert usage.usage_metadata == {name: answer.usage_metadata}
    assert streamed.usage_metadata == usage.usage_metadata


@pytest.mark.parametrize(
    ("tier", "model"), [("openai", "gpt-4o-mini"), ("ollama", "qwen2.5:0.5b"), ("mock", "mock")]
)
@pytest.mark.parametrize("stream", [False, True])
def test_trace_names_who_answered(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tier: str, model: str, stream: bool
) -> None:
    """A run starts named for the chain and ends named for the provider that answered."""
    down_to(tier, openai_emu, ollama_emu)
    tracer = Tracer()
    chat = create_chat_model()
    start = chat._get_ls_params()
    assert (start["ls_provider"], start["ls_model_name"]) == (
        "langgraph-failover",
        "openai>ollama>mock",
    )
    if stream:
        list(chat.stream("hi", config={"callbacks": [tracer]}))
    else:
        chat.invoke("hi", config={"callbacks": [tracer]})
    (run,) = tracer.runs
    metadata = run.extra["metadata"]
    assert (metadata["ls_provider"], metadata["ls_model_name"]) == (tier, model)
    assert (
        "lc_gateway_metadata"
        not in run.outputs["generations"][0][0]["message"]["kwargs"]["response_metadata"]
    )


@pytest.mark.parametrize("tier", ["openai", "ollama", "mock"])
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
async def test_structured_output_by_each_method_on_every_tier(
    openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator, tier: str, method: str
) -> None:
    """json_schema asks every provider for JSON; function calling forces a tool call."""
    down_to(tier, openai_emu, ollama_emu)
    structured = create_chat_model().with_structured_output(Verdict, method=method)
    assert isinstance(await structured.ainvoke("grade"), Verdict)
    raw = create_chat_model().with_structured_output(Verdict, method=method, include_raw=True)
    result = raw.invoke("grade")
    assert isinstance(result["parsed"], Verdict) and result["parsing_error"] is None
    assert result["raw"].response_metadata["failover"]["served_by"] == tier
    body = openai_emu.requests[0].body
    assert ("response_format" in body) is (method == "json_schema")


def test_json_mode_parse_errors_come_back_raw(openai_emu: OpenAIEmulator) -> None:
    """JSON mode names no keys, so `{}` may not parse: include_raw keeps the answer."""
    raw = create_chat_model().with_structured_output(Verdict, method="json_mode", include_raw=True)
    result = raw.invoke("grade")
    assert result["parsed"] is None and result["parsing_error"] is not None
    assert result["raw"].content == "{}"
    assert openai_emu.requests[0].body["response_format"] == {"type": "json_object"}


def test_unknown_structured_output_arguments_are_refused() -> None:
    """A typo in `method` must not silently fall back to another method."""
    with pytest.raises(ValueError, match="json_shema"):
        create_chat_model().with_structured_output(Verdict, method="json_shema")


def test_stop_given_to_the_model_reaches_the_provider(openai_emu: OpenAIEmulator) -> None:
    """`stop` at construction (a standard parameter) is sent; a call's own stop wins."""
    model = create_chat_model().model_copy(update={"stop": ["reply"]})
    assert model.invoke("hi").content == "[openai gpt-4o-mini] "
    assert model._get_ls_params()["ls_stop"] == ["reply"]
    model.invoke("hi", stop=["to:"])
    assert openai_emu.requests[-1].body["stop"] == ["to:"]
