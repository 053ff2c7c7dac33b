"""The messages reducer: new messages only, or the whole history again, never twice.

Apps that keep their own history send earlier messages again on every call, rebuilt
without ids (a whole history, or a running summary plus the recent turns). Appending
them would duplicate the thread. So, comparing by role and text:

- a leading system message replaces the thread's leading one (a summary that changes);
- where the start of what was sent repeats the end of the thread, only the rest is
  added (a whole history, or a recent window, ending in the new question);
- several messages that repeat the thread up to, not including, its last answer ask
  that question again: the old answer is removed and the turn is answered anew (an app
  that calls `invoke` and then `stream` with the same messages).

Anything else is appended as it is, which is `add_messages`' own behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage, convert_to_messages
from langgraph.graph.message import add_messages


def merge_messages(current: list[AnyMessage], new: Any) -> list[AnyMessage]:
    """`add_messages`, after dropping what the caller sent again (see the module text)."""
    incoming: list[Any] = convert_to_messages(new if isinstance(new, list) else [new])
    if current and not isinstance(current[0], BaseMessage):
        # The LangGraph server hands a stored thread back as dicts when it re-applies a
        # failed run's pending writes (GET /threads/{id}/state).
        current = cast(list[AnyMessage], convert_to_messages(current))
    return cast(list[AnyMessage], add_messages(list[Any](current), _unseen(current, incoming)))


def _unseen(current: Sequence[BaseMessage], incoming: list[Any]) -> list[Any]:
    if not current or not incoming:
        return incoming
    updates: list[Any] = []
    if current[0].type == "system" and incoming[0].type == "system":
        if not same(current[0], incoming[0]):
            updates.append(incoming[0].model_copy(update={"id": current[0].id}))
        incoming = incoming[1:]
    sent = [m for m in incoming if m.type != "system"]
    # Only the thread's last len(sent) + 1 messages can match what was sent: reading no
    # further keeps a turn's cost independent of the history's length.
    thread = _tail(current, len(sent) + 1)
    for k in range(min(len(thread), len(sent)), 0, -1):
        if _match(thread[-k:], sent[:k]):
            return updates + _after(incoming, k)
    last = thread[-1] if thread else None
    asked_again = len(sent) >= 2 and len(thread) > len(sent) and last and last.type == "ai"
    if asked_again and last and last.id and _match(thread[:-1], sent):
        return [*updates, RemoveMessage(id=last.id)]
    return updates + incoming


def _tail(current: Sequence[BaseMessage], size: int) -> list[BaseMessage]:
    """The last `size` non-system messages of the thread, in order."""
    tail: list[BaseMessage] = []
    for message in reversed(current):
        if len(tail) == size:
            break
        if message.type != "system":
            tail.append(message)
    return tail[::-1]


def _after(incoming: list[Any], repeated: int) -> list[Any]:
    """`incoming` without its first `repeated` non-system messages."""
    kept, seen = [], 0
    for message in incoming:
        if message.type != "system" and seen < repeated:
            seen += 1
            continue
        kept.append(message)
    return kept


def same(old: BaseMessage, sent: BaseMessage) -> bool:
    """Whether two messages say the same thing (role and text, ids aside)."""
    return old.type == sent.type and old.text.strip() == sent.text.strip()


def _match(old: Sequence[BaseMessage], sent: Sequence[BaseMessage]) -> bool:
    return all(same(a, b) for a, b in zip(old, sent, strict=True))
