"""What a run may bring: its input and thread id, checked before anything is stored.

LangGraph writes a run's input to the checkpoint before the messages reducer reads it,
so a message the reducer cannot read would be kept as a pending write and break every
later `get_state` of the thread. `check_run` refuses such input first, with an
`InvalidInput` (a `ValueError`, as LangChain's own message errors are) naming the problem:
anything `convert_to_messages` rejects, no messages at all, a user message without text,
text that is not valid Unicode (a lone surrogate), nesting deeper than `MAX_DEPTH`, and a
thread id that is missing (with a checkpointer), not a string, empty, or unprintable.

Pure: no I/O, no state; `GuardedGraph` calls it at the start of every run.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage, RemoveMessage, convert_to_messages
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from langgraph_failover.errors import InvalidInput

MAX_DEPTH = 64
"""How deeply a message's content may nest (lists in dicts in lists...)."""
MAX_VALUES = 1_000_000
"""How many values (strings, numbers, containers) one run's messages may hold in all."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_REASON_LIMIT = 200


def check_run(input: Any, config: Mapping[str, Any] | None, *, checkpointed: bool) -> str | None:
    """Refuse input that would break the thread; return the run's thread id (None: none).

    `input` is what `invoke`/`stream` got: a dict with `messages`, `None` (resume the
    interrupted turn) or a `Command`. `checkpointed`: the graph keeps threads, so a run
    needs a thread id.
    """
    configurable = (config or {}).get("configurable") or {}
    thread = check_thread_id(configurable.get("thread_id"), required=checkpointed)
    if input is None:
        return thread
    if isinstance(input, Command):
        for key, value in _command_updates(input.update):
            if key != "messages":
                # attempts, sticky and served_by are the graph's own records: a caller's
                # value would be stored unchecked and break every later turn.
                raise InvalidInput(
                    f"command update: a run may update only 'messages', got {key!r}"[:_REASON_LIMIT]
                )
            check_messages(value)
        return thread
    if not isinstance(input, Mapping):
        raise InvalidInput(
            f"input: expected a dict with 'messages' (or None to resume), got {_kind(input)}"
        )
    check_messages(input.get("messages"))
    return thread


def _command_updates(update: Any) -> list[tuple[Any, Any]]:
    """A `Command`'s update as (key, value) pairs, in either form LangGraph accepts."""
    if update is None:
        return []
    if isinstance(update, Mapping):
        return list(update.items())
    pairs = update if isinstance(update, list | tuple) else None
    if pairs is None or not all(isinstance(p, list | tuple) and len(p) == 2 for p in pairs):
        raise InvalidInput(
            f"command update: expected a dict or (key, value) pairs, got {_kind(update)}"
        )
    return [(key, value) for key, value in pairs]


def check_thread_id(thread: Any, *, required: bool) -> str | None:
    """The thread id as the checkpointer will store it, or refuse it."""
    if thread is None:
        if required:
            raise InvalidInput(
                "thread_id: missing; a graph with a checkpointer needs "
                "config={'configurable': {'thread_id': '<conversation id>'}}"
            )
        return None
    if isinstance(thread, uuid.UUID):  # the LangGraph server's own ids
        return str(thread)
    if not isinstance(thread, str):
        raise InvalidInput(f"thread_id: expected a string, got {_kind(thread)}")
    if not thread:
        raise InvalidInput("thread_id: empty")
    if found := _CONTROL.search(thread):
        raise InvalidInput(
            f"thread_id: control character {found.group()!r} at offset {found.start()}"
        )
    check_text(thread, "thread_id")
    return thread


def check_messages(value: Any) -> None:
    """Refuse `messages` unless every one is a message the thread can keep and answer."""
    if value is None:
        raise InvalidInput("messages: missing; send the new message(s) as {'messages': [...]}")
    # Read as the reducer reads it (`history.merge_messages`): a lone message is a list of one.
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidInput(
            "messages: empty; send at least one message (to resume a turn, invoke with None)"
        )
    budget = [MAX_VALUES]
    for index, item in enumerate(items):
        where = f"messages[{index}]"
        check_tree(item, where, budget)
        message = _message(item, where)
        if isinstance(message, RemoveMessage):
            raise InvalidInput(f"{where}: a RemoveMessage is not a turn; use update_state")
        if message.type == "human" and not message.text.strip():
            raise InvalidInput(f"{where}: a user message needs text (a text part, not only media)")


def check_tree(value: Any, where: str, budget: list[int]) -> None:
    """Refuse invalid text, nesting deeper than `MAX_DEPTH`, or more values than `budget`.

    Walks with a stack of its own, so no depth of nesting makes Python recurse; `budget`
    (a one-item list, shared by one run's messages) bounds the walk of shared or cyclic
    structures, which only the depth limit would otherwise stop.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise InvalidInput(f"{where}: more than {MAX_VALUES:,} values in one run")
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{where}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            check_text(item, where)
            continue
        parts = _parts(item)
        if parts:
            stack.extend((part, depth + 1) for part in parts if part is not None)


def _parts(item: Any) -> Any:
    """What a value holds (keys and values, items, a model's fields); () for a scalar."""
    if isinstance(item, dict | Mapping):  # dict first: the common case, and no ABC check
        return [*item.keys(), *item.values()]
    if isinstance(item, list | tuple):
        return item
    if isinstance(item, BaseModel):  # a message object: its fields
        return [part for _, part in item]
    return ()


def check_text(text: str, where: str) -> None:
    """Refuse text that cannot be encoded as UTF-8 (an unpaired surrogate)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{where}: unpaired surrogate {text[exc.start]!r} at offset {exc.start}; "
            "text must be valid Unicode"
        ) from None


def _message(item: Any, where: str) -> BaseMessage:
    """`item` as the reducer will convert it, or the reason it cannot be."""
    try:
        return convert_to_messages([item])[0]
    except ValidationError as exc:  # a message type with a field of the wrong type
        first = exc.errors()[0]
        reason = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    except (ValueError, TypeError, KeyError, AttributeError, NotImplementedError) as exc:
        # LangChain's reason is the first line; a troubleshooting link follows.
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, KeyError):
            reason = f"missing key {reason}"
    raise InvalidInput(f"{where}: not a message: {reason[:_REASON_LIMIT]}") from None


def _kind(value: Any) -> str:
    """A value's type for an error message (never the value: it may be huge or secret)."""
    return type(value).__name__
