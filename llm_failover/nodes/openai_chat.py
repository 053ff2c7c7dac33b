"""The OpenAI provider: `ChatOpenAI` for api.openai.com or any compatible server.

Built once per graph with `max_retries=0`: the SDK's own retries would spend three
requests and over a second of backoff on a quota 429 before the graph could fail over
(measured against the emulator), and they cannot tell quota from rate limit anyway.

Its async client is the graph's own, with one connection pool per event loop
(`transport.LoopTransport`), rather than langchain-openai's process-wide one, which
breaks on a second `asyncio.run`. Credentials in `OPENAI_BASE_URL` are taken out of the
URL and sent as basic auth (as httpx would), so no log line or client field shows them.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_openai import ChatOpenAI

from llm_failover.graph.settings import ProviderSpec, Settings
from llm_failover.nodes.transport import LoopTransport, env_proxy
from llm_failover.secrets import UrlAuth, split_url

try:  # openai>=3 is built on its own fork of httpx (see errors.py)
    import httpx2 as http
except ImportError:  # pragma: no cover - older openai releases use httpx itself
    import httpx as http  # type: ignore[no-redef]


def openai_model(spec: ProviderSpec, settings: Settings) -> ChatOpenAI | None:
    """Build the client, or `None` when no API key is configured (`not_configured`)."""
    if settings.openai_api_key is None:
        return None
    url, auth = split_url(settings.openai_base_url)
    return ChatOpenAI(
        model=spec.model,
        api_key=settings.openai_api_key,
        base_url=url,
        timeout=settings.timeout,
        max_retries=0,
        # Ask for usage in streams too (the client only does so by itself for OpenAI's
        # own URL): an app's token accounting must not depend on how it called.
        stream_usage=True,
        http_client=openai.DefaultHttpxClient(auth=_basic(auth)) if auth else None,
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
    return openai.DefaultAsyncHttpxClient(transport=transport, auth=_basic(auth))


def _basic(auth: UrlAuth | None) -> http.BasicAuth | None:
    return http.BasicAuth(auth.username, auth.password) if auth else None
