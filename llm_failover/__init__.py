"""llm-failover: keep LLM conversations alive when the primary provider fails.

`build_graph()` compiles a LangGraph graph that answers each turn with the primary
provider and fails over to Ollama, then to a deterministic mock, recording every attempt
in the checkpointed state.
"""

from llm_failover.chat_model import FailoverChatModel
from llm_failover.errors import (
    AllProvidersFailed,
    ConfigError,
    InvalidInput,
    ThreadBusy,
    classify,
)
from llm_failover.factory import create_chat_model
from llm_failover.graph.builder import build_graph
from llm_failover.graph.context import Context
from llm_failover.providers.mock import MockChatModel

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
