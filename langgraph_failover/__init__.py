"""langgraph-failover: keep LLM conversations alive when the primary provider fails.

`build_graph()` compiles a LangGraph graph that answers each turn with the primary
provider and fails over along the chain (by default Ollama, then a deterministic mock),
recording every attempt in the checkpointed state; `create_chat_model()` wraps it as a
LangChain chat model, the drop-in for an app's model factory.

Its parts: `graph` (state, settings, routing, the builder), `nodes` (the provider node),
`providers` (provider types and their clients), `health` (the circuit breaker and its
stores), `testing` (wire-level emulators). Beside them: `errors` and `kinds` (what an
error means, what it leads to), fed by `streams` and `windows`; the drop-in
(`chat_model`, `chat_stream`, `chat_structured`, `factory`); `checkpoint` and
`postgres`; `metrics`; `secrets`; `clock`; `extras`; `cli`; `server` (what
`langgraph.json` serves). `docs/design.md` maps every module.
"""

from langgraph_failover.chat_model import FailoverChatModel
from langgraph_failover.errors import (
    AllProvidersFailed,
    ConfigError,
    InvalidInput,
    ThreadBusy,
    classify,
)
from langgraph_failover.factory import create_chat_model
from langgraph_failover.graph.builder import build_graph
from langgraph_failover.graph.context import Context
from langgraph_failover.providers.mock import MockChatModel

__all__ = [
    "AllProvidersFailed",
    "ConfigError",
    "Context",
    "FailoverChatModel",
    "InvalidInput",
    "MockChatModel",
    "ThreadBusy",
    "build_graph",
    "classify",
    "create_chat_model",
]
