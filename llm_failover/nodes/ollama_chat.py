"""The Ollama provider: `ChatOllama` against a local (or remote) Ollama server.

The Ollama client has no timeout of its own, so one is given to its httpx clients: a
hung server must not hang the turn. Its context window is set explicitly (`num_ctx`).
"""

from __future__ import annotations

from langchain_ollama import ChatOllama

from llm_failover.graph.settings import ProviderSpec, Settings


def ollama_model(spec: ProviderSpec, settings: Settings) -> ChatOllama:
    """Build the client; it makes no request until the first call."""
    return ChatOllama(
        model=spec.model,
        base_url=settings.ollama_base_url,
        client_kwargs={"timeout": settings.timeout},
        # The server's window must match the one the history is fitted to; left to its
        # default, Ollama would cut an oversized prompt from the start, system first.
        num_ctx=spec.context_tokens,
    )
