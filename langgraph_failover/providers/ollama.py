"""The Ollama provider: `ChatOllama` against a local (or remote) Ollama server.

The Ollama client has no timeout of its own, so one is given to its httpx clients: a
hung server must not hang the turn. Its context window is set explicitly (`num_ctx`).
Its async client sends through a `transport.LoopTransport`, one connection pool per
event loop, so `asyncio.run` per request works. Credentials in `OLLAMA_BASE_URL` are
taken out of the URL and sent as basic auth, so no log line or client field shows them.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_ollama import ChatOllama

from langgraph_failover.providers.entry import Endpoint
from langgraph_failover.providers.transport import LoopTransport, env_proxy
from langgraph_failover.secrets import split_url


def chat_ollama(
    endpoint: Endpoint, model: str, *, timeout: float, context_tokens: int | None
) -> BaseChatModel:
    """Build the client; it makes no request until the first call."""
    url, auth = split_url(endpoint.base_url)
    shared: dict[str, Any] = {"timeout": timeout}
    if auth is not None:
        shared["auth"] = httpx.BasicAuth(auth.username, auth.password)
    return ChatOllama(
        model=model,
        base_url=url,
        client_kwargs=shared,
        async_client_kwargs={"transport": async_transport(url)},
        # The server's window must match the one the history is fitted to; left to its
        # default, Ollama would cut an oversized prompt from the start, system first.
        num_ctx=context_tokens,
    )


def async_transport(base_url: str | None) -> LoopTransport:
    """The transport an `ollama.AsyncClient` needs to work from any event loop.

    Public so that an app can give the same to a `ChatOllama` it injects with
    `build_graph(models=...)` (`async_client_kwargs={"transport": ...}`).
    """
    proxy = env_proxy(base_url or "http://localhost:11434")
    return LoopTransport(lambda: httpx.AsyncHTTPTransport(proxy=proxy))
