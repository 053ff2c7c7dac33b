"""The last resort: a deterministic chat model that never fails.

It says plainly that the service is degraded, can be scripted for tests (a list of
canned replies, tool calls included), and keeps an app's contract where it can: with a
forced tool choice (which is how `with_structured_output` works) it answers with a tool
call whose arguments are valid for the tool's schema, asked for a JSON-schema
`response_format` it answers with a valid instance, and it reports token usage like any
provider, so an app's usage accounting keeps working while it is degraded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from langgraph_failover.providers.entry import Endpoint
from langgraph_failover.providers.mock_schema import forced_call, json_text

DEGRADED_TEXT = (
    "[FALLBACK] System is currently experiencing high load. I am a simplified backup agent."
)


class MockChatModel(BaseChatModel):
    """Answers every call, deterministically: scripted replies first, then `text`."""

    replies: Sequence[str | AIMessage] = ()
    """Canned replies, used in order, one per call; an AIMessage may carry tool calls."""
    text: str = DEGRADED_TEXT
    """The answer once the script has run out."""

    _next: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "mock"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        # Traces name the mock as what answered, not "mockchatmodel" without a model.
        return LangSmithParams(
            ls_provider="mock", ls_model_name="mock", ls_model_type="chat", ls_stop=stop
        )

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Accept tools like any provider; they are only used to shape forced tool calls."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Pure CPU work: no need for the executor thread BaseChatModel would use.
        return self._generate(messages, stop, None, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # No on_llm_new_token here: BaseChatModel reports each chunk it yields itself.
        yield from _chunks(self._answer(messages, kwargs))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in _chunks(self._answer(messages, kwargs)):
            yield chunk

    def _answer(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        with self._lock:
            index, self._next = self._next, self._next + 1
        scripted = self.replies[index] if index < len(self.replies) else None
        if isinstance(scripted, AIMessage):
            answer = scripted.model_copy()
        else:
            answer = AIMessage(content=scripted or self.text)
            forced = forced_call(kwargs.get("tools") or [], kwargs.get("tool_choice"))
            structured = json_text(kwargs.get("response_format"))
            if forced is not None:
                call = {**forced, "id": "call_mock_0", "type": "tool_call"}
                answer = AIMessage(content="", tool_calls=[call])
            elif structured is not None:
                answer = AIMessage(content=structured)
        # Derived from the conversation, so the same request gets the same id and a
        # new turn a new one, even across processes (a counter would restart at 0).
        answer.id = answer.id or f"mock-{_digest(messages)}"
        answer.response_metadata = {**answer.response_metadata, "model_name": "mock"}
        answer.usage_metadata = answer.usage_metadata or _usage(messages, answer)
        return answer


def mock_client(
    endpoint: Endpoint, model: str, *, timeout: float, context_tokens: int | None
) -> BaseChatModel:
    """The mock's client: it needs nothing of the endpoint, the timeout or a window."""
    return MockChatModel()


def _usage(messages: Sequence[BaseMessage], answer: AIMessage) -> Any:
    """Estimated token counts, in the shape every provider reports them."""
    sent, said = count_tokens_approximately(messages), count_tokens_approximately([answer])
    return {"input_tokens": sent, "output_tokens": said, "total_tokens": sent + said}


def _chunks(answer: AIMessage) -> Iterator[ChatGenerationChunk]:
    """Stream the answer word by word, as a real provider would."""
    pieces = re.findall(r"\S+\s*|\s+", str(answer.content)) or [""]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk = AIMessageChunk(
            content=piece,
            id=answer.id,
            tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                for i, c in enumerate(answer.tool_calls)
            ]
            if last
            else [],
            response_metadata=answer.response_metadata if last else {},
            # Once, on the last chunk: summed chunks must not count the prompt twice.
            usage_metadata=answer.usage_metadata if last else None,
            chunk_position="last" if last else None,
        )
        yield ChatGenerationChunk(message=chunk)


def _digest(messages: Sequence[BaseMessage]) -> str:
    hasher = hashlib.sha256()
    for message in messages:
        hasher.update((message.id or str(message.content)).encode())
    return hasher.hexdigest()[:24]
