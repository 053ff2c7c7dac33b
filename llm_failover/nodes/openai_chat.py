"""The OpenAI provider: `ChatOpenAI` for api.openai.com or any compatible server.

Built once per graph with `max_retries=0`: the SDK's own retries would spend three
requests and over a second of backoff on a quota 429 before the graph could fail over
(measured against the emulator), and they cannot tell quota from rate limit anyway.
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from llm_failover.graph.settings import ProviderSpec, Settings


def openai_model(spec: ProviderSpec, settings: Settings) -> ChatOpenAI | None:
    """Build the client, or `None` when no API key is configured (`not_configured`)."""
    if settings.openai_api_key is None:
        return None
    return ChatOpenAI(
        model=spec.model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.timeout,
        max_retries=0,
        # Ask for usage in streams too (the client only does so by itself for OpenAI's
        # own URL): an app's token accounting must not depend on how it called.
        stream_usage=True,
    )
