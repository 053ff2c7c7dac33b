"""Emulator of Ollama's `/api/chat`: NDJSON streaming and Ollama's `{"error": ...}` bodies.

Also answers the probes clients and tools make first: `GET /` and `GET /api/tags`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from langgraph_failover.testing.behaviours import Behaviour
from langgraph_failover.testing.server import Emulator
from langgraph_failover.testing.shaping import ANSWERING, Wanted, ollama_wanted
from langgraph_failover.testing.wire import (
    RecordedRequest,
    count_tokens,
    drop_connection,
    pause,
    truncated,
    word_pieces,
)

_NDJSON = "application/x-ndjson"
_TEMPLATE = 4
"""Tokens a chat template adds around each message (role markers, separators)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _line(data: Any) -> bytes:
    return json.dumps(data).encode() + b"\n"


def _context_length(recorded: RecordedRequest, window: int) -> str:
    """Ollama's 400 text for a prompt over its window when asked not to truncate.

    It passes on its llama.cpp runner's own error object, as a string.
    """
    sent = max(count_tokens(recorded.messages), window + 1000)
    message = (
        f"request ({sent} tokens) exceeds the available context size ({window} tokens), "
        "try increasing it"
    )
    inner = {"code": 400, "message": message, "type": "exceed_context_size_error",
             "n_prompt_tokens": sent, "n_ctx": window}  # fmt: skip
    return json.dumps({"error": inner}, separators=(",", ":"))


class OllamaEmulator(Emulator):
    """Serves `POST /api/chat` like a local `ollama serve`; `base_url` is the server root."""

    provider = "ollama"
    # Ollama streams unless the body says `"stream": false`.
    stream_default = True

    def routes(self) -> list[web.RouteDef]:
        """Chat, plus the liveness and model-list probes."""
        return [
            web.post("/api/chat", self.handle_chat),
            web.get("/api/tags", self._tags),
            web.get("/api/version", self._version),
            web.get("/", self._root),
        ]

    def wanted(self, body: dict[str, Any]) -> Wanted:
        """Offered `tools`, `format` and `options.stop`, as Ollama honours them."""
        return ollama_wanted(body)

    async def respond(
        self, request: web.Request, recorded: RecordedRequest, behaviour: Behaviour
    ) -> web.StreamResponse:
        """Answer with NDJSON lines, one JSON object, an Ollama error or a dropped connection."""
        if behaviour.kind == "empty":
            return web.Response(body=b"", content_type=_NDJSON)
        if behaviour.kind not in ANSWERING:
            status, error = self._error(recorded, behaviour)
            headers = {}
            if behaviour.retry_after is not None:
                headers["retry-after"] = f"{behaviour.retry_after:g}"
            body = {"error": error}
            return web.json_response(body, status=behaviour.status or status, headers=headers)
        text = self.reply_text(recorded, behaviour)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if behaviour.tool_calls:
            message["tool_calls"] = [
                {"function": {"name": call["name"], "arguments": call.get("args", {})}}
                for call in behaviour.tool_calls
            ]
        if recorded.stream:
            return await self._stream(request, recorded, behaviour, message)
        return await self._complete(request, recorded, behaviour, message)

    @staticmethod
    def _error(recorded: RecordedRequest, behaviour: Behaviour) -> tuple[int, str]:
        """Status and `error` text of Ollama's answer for an error behaviour."""
        match behaviour.kind:
            case "not_found":
                return 404, f'model "{recorded.model}" not found, try pulling it first'
            case "busy":
                return 503, "server busy, please try again.  maximum pending requests exceeded"
            case "unauthorized":
                return 401, behaviour.text or "unauthorized"
            case "forbidden":
                return 403, "forbidden"
            case "bad_request":
                return 400, behaviour.text or ""
            case "context_length":
                return 400, _context_length(recorded, behaviour.window or 4096)
            case "quota":
                return 429, "you have reached your usage limit, please upgrade to continue"
            case "rate_limited":
                return 429, "too many requests, please try again later"
            case _:
                return 500, "llama runner process has terminated: exit status 2"

    @staticmethod
    def _final(recorded: RecordedRequest, message: dict[str, Any], generated: int) -> Any:
        """Build the closing object of an answer, with deterministic statistics."""
        # A chat template adds a few tokens per message; a window cuts the rest, unannounced.
        prompt = count_tokens(recorded.messages) + _TEMPLATE * len(recorded.messages)
        if (window := recorded.behaviour.num_ctx) is not None:
            prompt = min(prompt, window)
        stats = {
            "load_duration": 1_000_000,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": prompt * 1_000_000,
            "eval_count": generated,
            "eval_duration": generated * 10_000_000,
        }
        total = stats["load_duration"] + stats["prompt_eval_duration"] + stats["eval_duration"]
        head = {"model": recorded.model, "created_at": _now(), "message": message}
        return head | {"done": True, "done_reason": "stop", "total_duration": total} | stats

    async def _complete(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        behaviour: Behaviour,
        message: dict[str, Any],
    ) -> web.StreamResponse:
        generated = len(word_pieces(message["content"])) + len(message.get("tool_calls", ()))
        body = json.dumps(self._final(recorded, message, generated)).encode()
        if behaviour.kind == "cut":
            return await truncated(request, body, {})
        if behaviour.kind == "malformed":  # whole as sent, but not JSON
            body = body[: len(body) // 2]
        return web.Response(body=body, content_type="application/json")

    async def _stream(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        behaviour: Behaviour,
        message: dict[str, Any],
    ) -> web.StreamResponse:
        created = _now()
        head = {"model": recorded.model, "created_at": created}
        lines = [
            head | {"message": {"role": "assistant", "content": piece}, "done": False}
            for piece in word_pieces(message["content"])
        ]
        if "tool_calls" in message:
            lines.append(head | {"message": message | {"content": ""}, "done": False})
        response = web.StreamResponse(headers={"Content-Type": _NDJSON})
        await response.prepare(request)
        if behaviour.kind == "cut":
            for line in lines[: behaviour.after]:
                await response.write(_line(line))
            return await drop_connection(request, response)
        for index, line in enumerate(lines):
            if behaviour.kind == "malformed" and index == behaviour.after:
                await response.write(_line(line)[:30] + b"\n")  # a line cut short
            if wait := pause(behaviour, index):
                await asyncio.sleep(wait)
            await response.write(_line(line))
        if behaviour.kind != "unterminated" or behaviour.finish:
            final = self._final(recorded, {"role": "assistant", "content": ""}, len(lines))
            await response.write(_line(final))
        await response.write_eof()
        return response

    async def _tags(self, request: web.Request) -> web.Response:
        models = dict.fromkeys(r.model for r in self.requests if r.model)
        entries = [
            {"name": m, "model": m, "modified_at": _now(), "size": 0, "digest": "0" * 64}
            for m in models
        ]
        return web.json_response({"models": entries})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "0.0.0-emulator"})

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")
