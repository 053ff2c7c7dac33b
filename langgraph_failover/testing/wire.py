"""What travels on the wire: recorded requests, message text, stream pieces, dropped links.

Shared by both emulators, so OpenAI and Ollama echo, chunk and fail in the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from langgraph_failover.testing.behaviours import Behaviour


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One chat request as the emulator received it (never the Authorization value).

    Which key came can still be checked: `request.sent_key("sk-...")`.
    """

    path: str
    """The URL path that was called, e.g. `/v1/chat/completions`."""
    model: str
    """The `model` field of the body."""
    messages: list[Any]
    """The `messages` list exactly as received."""
    stream: bool
    """Whether the client asked for a streamed answer."""
    body: dict[str, Any]
    """The whole JSON body."""
    behaviour: Behaviour
    """The behaviour the emulator played back for this request."""
    auth_digest: str | None = field(default=None, repr=False)
    """SHA-256 of the Authorization header's value (None: none came), for `sent_key`."""

    @property
    def has_auth(self) -> bool:
        """Whether an Authorization header came; its value is deliberately not kept."""
        return self.auth_digest is not None

    def sent_key(self, key: str) -> bool:
        """Whether the request carried `Authorization: Bearer <key>` (that key, no other)."""
        return self.auth_digest == auth_digest(f"Bearer {key}")


def auth_digest(value: str | None) -> str | None:
    """The digest an Authorization header value is recorded as: never the value itself."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def content_text(content: Any) -> str:
    """Text of a message `content`: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: list[Any]) -> str:
    """Text of the last message whose role is `user` ("" if there is none)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def word_pieces(text: str) -> list[str]:
    """Split `text` into stream chunks that concatenate back to exactly `text`."""
    return re.findall(r"\S+\s*|\s+", text)


def count_tokens(messages: list[Any]) -> int:
    """Count whitespace-separated words: a deterministic stand-in for a tokenizer."""
    return sum(len(content_text(m.get("content")).split()) for m in messages if isinstance(m, dict))


def pause(behaviour: Behaviour, index: int) -> float:
    """Seconds to stay silent before content chunk `index` (0: the first) of a stream."""
    if index == 0:
        return behaviour.first_token
    if index == behaviour.stall_after:
        return behaviour.seconds
    return behaviour.every


def held(behaviour: Behaviour) -> float:
    """Seconds a non-streamed answer is held back by its stream pacing (first token, stall)."""
    stalled = behaviour.seconds if behaviour.stall_after is not None else 0.0
    return behaviour.first_token + stalled


async def drop_connection(
    request: web.BaseRequest, response: web.StreamResponse | None = None
) -> web.StreamResponse:
    """Abort the TCP connection, as a crashed upstream or an impatient proxy does.

    Returns a response for the handler to return: aiohttp's attempt to finish it then
    fails, which it treats as a client disconnect, quietly.
    """
    transport = request.transport
    if transport is not None:
        # abort() discards unsent bytes; let what was already written reach the client.
        for _ in range(1000):
            if not transport.get_write_buffer_size():
                break
            await asyncio.sleep(0.001)
        transport.abort()
    return response if response is not None else web.StreamResponse()


async def truncated(
    request: web.BaseRequest, body: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    """Promise `body` with its Content-Length, send half of it, then drop the connection."""
    response = web.StreamResponse(headers=headers | {"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    return await drop_connection(request, response)
