"""Emulator of OpenAI's chat-completions API: JSON answers and SSE streaming.

Error answers come from `openai_errors`; this module shapes successes and broken streams.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web

from langgraph_failover.testing.behaviours import Behaviour
from langgraph_failover.testing.openai_errors import openai_error, over_limit
from langgraph_failover.testing.ratelimit import RateLimits
from langgraph_failover.testing.server import Emulator
from langgraph_failover.testing.shaping import ANSWERING, Wanted, openai_wanted
from langgraph_failover.testing.wire import (
    RecordedRequest,
    count_tokens,
    drop_connection,
    pause,
    truncated,
    word_pieces,
)


def _tool_calls(behaviour: Behaviour) -> list[dict[str, Any]]:
    """LangChain-style tool calls in OpenAI's wire format (arguments as a JSON string)."""
    return [
        {
            "id": call.get("id") or f"call_emu{i}",
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call.get("args", {}))},
        }
        for i, call in enumerate(behaviour.tool_calls)
    ]


def _sse(data: Any) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class OpenAIEmulator(RateLimits, Emulator):
    """Serves `POST /v1/chat/completions` like api.openai.com; `base_url` ends in `/v1`."""

    provider = "openai"
    base_path = "/v1"

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def reset(self) -> None:
        """As `Emulator.reset`, and lift the rate limit."""
        super().reset()
        self._bucket = None

    def routes(self) -> list[web.RouteDef]:
        """Return the chat-completions route, with and without the `/v1` prefix."""
        return [
            web.post("/v1/chat/completions", self.handle_chat),
            web.post("/chat/completions", self.handle_chat),
        ]

    def wanted(self, body: dict[str, Any]) -> Wanted:
        """Forced `tool_choice`, `response_format` and `stop`, as OpenAI honours them."""
        return openai_wanted(body)

    async def respond(
        self, request: web.Request, recorded: RecordedRequest, behaviour: Behaviour
    ) -> web.StreamResponse:
        """Answer with a completion, an SSE stream, an OpenAI error or a dropped connection."""
        n = next(self._ids)
        # The rate limit's headers go on every answer, 200 or not.
        headers = {"x-request-id": f"req_emu{n:06d}"} | self.limit_headers(request)
        if (over := self.refusal(request)) is not None:
            body, extra = over_limit(recorded.model, over)
            return web.json_response(body, status=429, headers=headers | extra)
        if behaviour.kind not in ANSWERING and behaviour.kind != "empty":
            status, body, extra = openai_error(recorded, behaviour)
            status = behaviour.status or status
            return web.json_response(body, status=status, headers=extra | headers)
        if behaviour.kind == "empty":
            # An empty answer carries neither text nor tool calls, whatever was scripted.
            behaviour = Behaviour(kind="empty", text="")
        text = self.reply_text(recorded, behaviour)
        head = {
            "id": f"chatcmpl-emu{n:06d}",
            "created": int(time.time()),
            "model": recorded.model,
            "system_fingerprint": "fp_emulator",
        }
        prompt, completion = count_tokens(recorded.messages), len(text.split())
        completion += len(behaviour.tool_calls)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if not recorded.stream:
            body = json.dumps(self._completion(behaviour, head, text, usage)).encode()
            if behaviour.kind == "cut":
                return await truncated(request, body, headers)
            if behaviour.kind == "malformed":  # whole as sent, but not JSON
                body = body[: len(body) // 2]
            return web.Response(body=body, headers=headers, content_type="application/json")
        return await self._stream(
            request, behaviour, headers, self._chunks(recorded, head, text, usage, behaviour)
        )

    @staticmethod
    def _completion(
        behaviour: Behaviour, head: dict[str, Any], text: str, usage: dict[str, int]
    ) -> dict[str, Any]:
        """Build the `chat.completion` object of a non-streamed answer."""
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        finish = "stop"
        if behaviour.tool_calls:
            message |= {"content": text or None, "tool_calls": _tool_calls(behaviour)}
            finish = "tool_calls"
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return head | {"object": "chat.completion", "choices": [choice], "usage": usage}

    @staticmethod
    def _chunks(
        recorded: RecordedRequest,
        head: dict[str, Any],
        text: str,
        usage: dict[str, int],
        behaviour: Behaviour,
    ) -> list[Any]:
        """Build the `chat.completion.chunk` objects of a streamed answer ([] for `empty`)."""
        if behaviour.kind == "empty":
            return []
        head = head | {"object": "chat.completion.chunk"}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return head | {"choices": [choice]}

        chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
        chunks += [chunk({"content": piece}) for piece in word_pieces(text)]
        calls = _tool_calls(behaviour)
        chunks += [chunk({"tool_calls": [{"index": i} | c]}) for i, c in enumerate(calls)]
        chunks.append(chunk({}, "tool_calls" if calls else "stop"))
        if (recorded.body.get("stream_options") or {}).get("include_usage"):
            chunks.append(head | {"choices": [], "usage": usage})
        return chunks

    @staticmethod
    async def _stream(
        request: web.Request, behaviour: Behaviour, headers: dict[str, str], chunks: list[Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers=headers | {"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if behaviour.kind == "cut":
            # The role chunk, then `after` content chunks but never the finishing one.
            for data in chunks[: 1 + behaviour.after]:
                if data["choices"] and data["choices"][0]["finish_reason"] is None:
                    await response.write(_sse(data))
            return await drop_connection(request, response)
        if behaviour.kind == "unterminated" and not behaviour.finish:
            # Neither the finishing chunk nor the usage after it.
            chunks = [c for c in chunks if c["choices"] and not c["choices"][0]["finish_reason"]]
        for data in chunks[:1]:  # the role chunk comes with the headers ([] when empty)
            await response.write(_sse(data))
        for index, data in enumerate(chunks[1:]):
            if behaviour.kind == "malformed" and index == behaviour.after:
                await response.write(_sse(data)[:40] + b"\n\n")  # an event cut short
            if wait := pause(behaviour, index):
                await asyncio.sleep(wait)
            await response.write(_sse(data))
        if behaviour.kind != "unterminated":
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
