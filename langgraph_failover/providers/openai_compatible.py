"""OpenAI and every OpenAI-compatible upstream (Groq, vLLM, LM Studio...): `ChatOpenAI`.

Built once per graph with `max_retries=0`: the SDK's own retries would spend three
requests and over a second of backoff on a quota 429 before the graph could fail over
(measured against the emulator), and they cannot tell quota from rate limit anyway.

Its async client is the graph's own, with one connection pool per event loop
(`transport.LoopTransport`), rather than langchain-openai's process-wide one, which
breaks on a second `asyncio.run`. Credentials in a base URL are taken out of the URL and
sent as basic auth (as httpx would), so no log line or client field shows them. The key
and URL are always passed explicitly: left unset, the SDK would read `OPENAI_API_KEY`
and `OPENAI_BASE_URL` and send OpenAI's key to another provider.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from langgraph_failover.pacing.capture import AHOOKS, HOOKS
from langgraph_failover.providers.entry import Endpoint
from langgraph_failover.providers.transport import LoopTransport, env_proxy
from langgraph_failover.secrets import UrlAuth, split_url

try:  # openai>=3 is built on its own fork of httpx (see errors.py)
    import httpx2 as http
except ImportError:  # pragma: no cover - older openai releases use httpx itself
    import httpx as http  # type: ignore[no-redef]

# What a server that takes no key is sent (vLLM's documented convention): an empty key
# would make the SDK fall back to OPENAI_API_KEY.
NO_KEY = SecretStr("EMPTY")


def chat_openai(
    endpoint: Endpoint, model: str, *, timeout: float, context_tokens: int | None
) -> BaseChatModel:
    """The client for `model` at `endpoint` (the window is the graph's to fit, not sent)."""
    url, auth = split_url(endpoint.base_url)
    return ChatOpenAI(
        model=model,
        api_key=endpoint.api_key or NO_KEY,
        base_url=url,
        timeout=timeout,
        max_retries=0,
        # Ask for usage in streams too (the client only does so by itself for OpenAI's
        # own URL): an app's token accounting must not depend on how it called.
        stream_usage=True,
        # Both clients hand each response's rate-limit headers to pacing (`capture`).
        http_client=openai.DefaultHttpxClient(auth=_basic(auth), event_hooks=HOOKS),
        http_async_client=async_http_client(url, auth),
    )


def async_http_client(base_url: str | None, auth: UrlAuth | None = None) -> Any:
    """An `openai.DefaultAsyncHttpxClient` that works from any event loop.

    Public so that an app can give the same to a `ChatOpenAI` it injects with
    `build_graph(models=...)`.
    """
    proxy = env_proxy(base_url or "https://api.openai.com/v1")

    def pool() -> Any:
        return http.AsyncHTTPTransport(limits=openai.DEFAULT_CONNECTION_LIMITS, proxy=proxy)

    transport: Any = LoopTransport(pool)  # duck-typed for either httpx
    return openai.DefaultAsyncHttpxClient(
        transport=transport, auth=_basic(auth), event_hooks=AHOOKS
    )


def _basic(auth: UrlAuth | None) -> http.BasicAuth | None:
    return http.BasicAuth(auth.username, auth.password) if auth else None
