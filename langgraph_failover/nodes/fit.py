"""Fit a conversation into a provider's context window.

A backup often has a much smaller window than the primary (local Ollama models commonly
run with a few thousand tokens), and Ollama truncates an oversized prompt silently from
the start, system prompt first. So the history sent to a provider with a configured
limit keeps the system message and the newest turns that fit, with room left for the
answer; the checkpoint keeps everything, and the attempt says what was left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately

from langgraph_failover.graph.state import Trimmed


def fit(
    messages: Sequence[BaseMessage], limit: int | None
) -> tuple[list[BaseMessage], Trimmed | None, int | None]:
    """The messages to send within `limit` tokens, what was trimmed, and tokens sent.

    What was trimmed is None when nothing was; the estimated tokens sent are None when
    there is no limit (then nothing is counted).
    """
    if limit is None:
        return list(messages), None, None
    tokens = count_tokens_approximately(messages)
    if tokens <= _room(limit):
        return list(messages), None, tokens
    kept = trim_messages(
        messages,
        max_tokens=_room(limit),
        token_counter=count_tokens_approximately,
        strategy="last",
        include_system=True,
        start_on="human",  # never open on an assistant or tool message cut from its turn
    )
    if not any(m.type == "human" for m in kept):
        # Even the newest turn alone does not fit: send it whole (its question, and the
        # tool results that answer its tool calls) and let the provider cope, rather
        # than send a tool result with no question, or nothing at all.
        asked = max((i for i, m in enumerate(messages) if m.type == "human"), default=0)
        kept = [m for m in kept if m.type == "system"] + list(messages[asked:])
    sent = count_tokens_approximately(kept)
    trimmed: Trimmed = {"dropped": len(messages) - len(kept), "sent_tokens": sent, "limit": limit}
    return kept, trimmed, sent


def _room(limit: int) -> int:
    """The window minus room for the answer (a quarter of it, at most 1,024 tokens)."""
    return limit - min(limit // 4, 1024)
