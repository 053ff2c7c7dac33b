"""Stream faults the SDKs do not name: undecodable data, and a stream that ended unfinished.

Bad bytes from a provider or a proxy reach us as the plain `json.JSONDecodeError` (or
`UnicodeDecodeError`) the SDK's decoder raised: the `openai` SDK on an SSE event that is
not JSON, the `ollama` client on a line that is not. Neither lets the bad chunk be
skipped (the error ends its stream), so the attempt fails over like a cut one. The same
error raised by the app's own code is a bug and must not be failed over, so `malformed`
accepts it only when it was raised from inside one of those SDKs (its traceback's origin).

A stream that closes cleanly before its end raises nothing: the `openai` SDK ends its
iteration without `data: [DONE]`, Ollama's client without its `"done": true` message,
and LangChain joins the chunks into an answer cut short. `unfinished` tells it by the
finish reason a whole answer carries: without `[DONE]` but with a finish reason, the
answer is whole, and its usage, when sent, with it.
"""

from __future__ import annotations

import json

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

_DECODING = frozenset({"json", "codecs", "encodings", "httpx", "httpx2"})
"""Where a decoding error is raised from on behalf of its caller: not its origin."""
_SDKS = frozenset({"openai", "ollama"})


def malformed(exc: BaseException) -> bool:
    """Whether `exc` is undecodable data an SDK received from its provider."""
    if not isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return False
    origin, frame = None, exc.__traceback__
    while frame is not None:  # outermost first: the last package seen is the origin
        package = str(frame.tb_frame.f_globals.get("__name__", "")).split(".")[0]
        if package not in _DECODING:
            origin = package
        frame = frame.tb_next
    return origin in _SDKS


def unfinished(model: BaseChatModel | None, answer: BaseMessage) -> str | None:
    """Why `answer` is not whole (its stream ended before its end), or None if it is.

    Only the clients whose whole answers are known to say so are judged: any other
    (an app's own model) is taken at its word.
    """
    meta = answer.response_metadata
    if isinstance(model, ChatOpenAI) and not {"finish_reason", "status"} & meta.keys():
        # `status`: the Responses API's answers carry it instead of a finish reason.
        return "stream ended with neither [DONE] nor a finish reason"
    if isinstance(model, ChatOllama) and "done" not in meta:
        return 'stream ended without its closing "done" message'
    return None
