"""How a thread's unanswered turns ended, read back from its checkpoints.

A turn that raised leaves no answer and no attempt of the provider that raised: only the
error's `repr`, which LangGraph keeps as a pending write (`__error__`) of the checkpoint
the turn stopped at. `AllProvidersFailed` means every provider failed; an HTTP status in
it (`Error code: 400`, Ollama's `ResponseError("...", 400)`, see `errors.keep_status`)
means a provider refused the request, and `errors.status_kind` says which kind of refusal;
anything else was raised as it is (an error no kind covers). The text is masked already:
the node masks an error before it raises it.

Only the checkpoints holding such a write are read (found by one query of SQLite's
`writes` table), so a long thread costs its failed turns, not its whole history again.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from langgraph_failover.errors import status_kind

_ERROR = "__error__"  # LangGraph's channel for a task's raised error
# OpenAI's "Error code: 400 - ...", and the status argument of Ollama's ResponseError.
_STATUS = re.compile(r"Error code: (\d{3})\b|, (\d{3})\)$")
_SHOWN = 160


def raised(saver: SqliteSaver, thread: str) -> dict[str, str]:
    """The error each unanswered question of the thread ended in, by the question's id."""
    saver.setup()
    with saver.lock:  # the saver's connection, used as its own methods use it
        rows = saver.conn.execute(
            "SELECT DISTINCT checkpoint_ns, checkpoint_id FROM writes"
            " WHERE thread_id = ? AND channel = ? ORDER BY checkpoint_id DESC",
            (thread, _ERROR),
        ).fetchall()
    found: dict[str, str] = {}
    for namespace, checkpoint in rows:  # newest first: a question's last error is kept
        config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": namespace,
                                        "checkpoint_id": checkpoint}}  # fmt: skip
        saved = saver.get_tuple(config)
        writes = (saved.pending_writes or []) if saved else []
        errors = [value for _, channel, value in writes if channel == _ERROR]
        messages = saved.checkpoint["channel_values"].get("messages") if saved else None
        if errors and messages and messages[-1].id:
            found.setdefault(str(messages[-1].id), str(errors[-1]))
    return found


def ending(error: str | None) -> str:
    """Why a turn was not answered, in words, from the error it raised (None: none kept)."""
    if error is None:
        return "not answered"  # stopped with no error kept: the process ended mid-turn
    if error.startswith("AllProvidersFailed("):
        return "not answered: every provider failed"
    match = _STATUS.search(error)
    kind = status_kind(int(match[1] or match[2]), error) if match else None
    what = f"refused ({kind})" if kind else f"raised {error.partition('(')[0]}"
    shown = error if len(error) <= _SHOWN else f"{error[:_SHOWN]}..."
    return f"not answered: {what}: {shown}"
