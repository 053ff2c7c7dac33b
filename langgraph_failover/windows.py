"""Context windows: an upstream's "prompt too long", the window it states, and what we learnt.

Providers refuse an oversized prompt in their own words: OpenAI answers 400 with code
`context_length_exceeded` ("This model's maximum context length is 128000 tokens.
However, your messages resulted in ..."), vLLM "This model's maximum context length is
8192 tokens. However, you requested ...", llama.cpp `exceed_context_size_error`
("request (8889 tokens) exceeds the available context size (4096 tokens)"), which Ollama
passes on when asked not to truncate, and Ollama itself "the prompt is longer than the
context length". `errors.classify` reads them as the kind `context_length`; when the
words state the window, the provider node remembers it for that upstream (`WINDOWS`, by
circuit key) and fits the history of later turns to it (`fit_limit`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

_EXCEEDED = re.compile(
    r"context_length_exceeded|exceed_context_size_error|maximum context length"
    r"|exceeds the available context size|(?:longer than|exceeds) the context length"
    r"|context_?window_?exceeded|prompt is too long|input tokens exceed the configured limit",
    re.IGNORECASE,
)
_STATED = (
    re.compile(r"maximum context length is (\d[\d,]*) tokens", re.IGNORECASE),
    re.compile(r"available context size \((\d+) tokens\)", re.IGNORECASE),
    re.compile(r"""\bn_ctx['"]?\s*[:=]\s*(\d+)"""),
)
_SMALLEST = 256
"""A stated window below this is taken for a misreading, not remembered."""


def exceeded(text: str) -> bool:
    """Whether an error's text says the prompt is longer than the model's window."""
    return _EXCEEDED.search(text) is not None


def stated_window(text: str) -> int | None:
    """The window, in tokens, a context-length error states (None: it states none)."""
    for pattern in _STATED:
        if found := pattern.search(text):
            window = int(found.group(1).replace(",", ""))
            return window if window >= _SMALLEST else None
    return None


class Windows:
    """The windows upstreams stated, by circuit key; the oldest are forgotten past `size`.

    In process only: a restart forgets them, and the first oversized turn teaches them again.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._known: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()  # sync nodes run in LangGraph's thread pool

    def get(self, key: str) -> int | None:
        """The window learnt for `key`, if any."""
        with self._lock:
            return self._known.get(key)

    def learn(self, key: str, window: int) -> None:
        """Remember `window` for `key` (the newest statement wins)."""
        with self._lock:
            self._known[key] = window
            self._known.move_to_end(key)
            while len(self._known) > self._size:
                self._known.popitem(last=False)

    def clear(self) -> None:
        """Forget every window (tests start clean)."""
        with self._lock:
            self._known.clear()


WINDOWS = Windows()
"""The process's learnt windows, shared by every graph (keys name the upstream and model)."""


def fit_limit(configured: int | None, key: str) -> int | None:
    """The window to fit a node's history to: its configured one or the learnt, the smaller."""
    learnt = WINDOWS.get(key) if key else None
    known = [w for w in (configured, learnt) if w is not None]
    return min(known) if known else None
