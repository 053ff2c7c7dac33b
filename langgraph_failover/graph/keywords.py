"""Unknown keywords: refused with a `ConfigError` that names the nearest valid one.

`build_graph(timout=5)` would otherwise be a setting silently not set, or Python's bare
`TypeError`; `create_chat_model` passes its keywords on to `build_graph`, and says so in
its own name (`UnknownKeyword.inside`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from langgraph_failover.errors import ConfigError

BUILD_GRAPH = ("checkpointer", "models", "clock", "circuit_store")
"""`build_graph`'s own keywords, besides the settings."""
CREATE_CHAT_MODEL = (
    "temperature",
    "tools",
    "thread_id",
    "checkpointer",
    "streaming",
    "disable_streaming",
)
"""`create_chat_model`'s own keywords, besides `build_graph`'s."""
_FIELDS = ("_api_key", "_base_url", "_model")
_PROVIDERS = "<name>_api_key, <name>_base_url, <name>_model for a provider in the chain"


class UnknownKeyword(ConfigError, TypeError):
    """A keyword that sets nothing; a `TypeError` too, as Python's own unknown keyword is.

    `names` are the unknown keywords, `valid` every keyword it could have meant.
    """

    def __init__(self, names: Iterable[str], valid: Iterable[str], where: str) -> None:
        self.names, self.valid, self.where = tuple(sorted(names)), frozenset(valid), where
        super().__init__(self._message())

    def _message(self) -> str:
        """One clause per unknown keyword, with its nearest valid one if any is near."""
        clauses, guessed = [], True
        for name in self.names:
            close = difflib.get_close_matches(name, sorted(self.valid), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            guessed = guessed and bool(close)
            # A provider's own keyword (`vllm_base_url`) is valid once the chain names it.
            head = next((name.removesuffix(f) for f in _FIELDS if name.endswith(f)), "")
            if head:
                hint = f" (no provider {head!r} in the chain){hint}"
            clauses.append(f"unknown setting {name!r} for {self.where}{hint}")
        if not guessed:  # nothing near: list what there is
            clauses.append(f"valid: {', '.join(sorted(self.valid))}, and {_PROVIDERS}")
        return "; ".join(clauses)

    def inside(self, where: str, own: Iterable[str]) -> UnknownKeyword:
        """The same refusal, told by `where`, whose own keywords `own` are valid too."""
        return UnknownKeyword(self.names, {*self.valid, *own}, where)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.names, self.valid, self.where))
